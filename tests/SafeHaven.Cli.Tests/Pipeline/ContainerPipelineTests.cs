using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Actuators.Vm;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Planner and two container agents (ct-a on host h-a, ct-b on host h-b) in one process on the embedded broker: a
/// machine-scope detection of a real namespaced container at h-a moves it to h-b with CRIU, through two signed commands.
/// </summary>
public sealed class ContainerPipelineTests : IDisposable
{
    private const string Datacenter = "dc1", Name = "tenant-web";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(150);
    private static readonly Lazy<string?> CriuProblem = new(() => Environment.UserName != "root"
        ? "checkpoint/restore of namespaced trees needs root"
        : CriuCapability.ProbeAsync(new CriuOptions()).GetAwaiter().GetResult() is { Available: false } cap ? cap.Reason : null);

    private readonly string _root = Path.Join("/tmp", "shcp-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly ContainerSite _a, _b;

    public ContainerPipelineTests()
    {
        _a = new ContainerSite("ct-a", Path.Join(_root, "a"));
        _b = new ContainerSite("ct-b", Path.Join(_root, "b"));
    }

    // A port range of its own, so that the Actuators tests' moves running meanwhile do not take these ports.
    private static CriuOptions Criu() => new()
    {
        PortMin = 27400, PortMax = 27499, PrepareTimeout = TimeSpan.FromSeconds(30), VerifyTimeout = TimeSpan.FromSeconds(15),
    };

    [SkippableFact]
    [Trait("Category", "Integration")]
    public async Task A_machine_scope_detection_moves_the_container_to_the_other_host_with_a_receive_and_an_isolate()
    {
        Skip.If(CriuProblem.Value is not null, CriuProblem.Value);
        using var deadline = new CancellationTokenSource(Deadline);
        var ct = deadline.Token;

        // Given a beating container at agent ct-a, and the planner and both agents on a fresh broker
        var heartbeat = Path.Join(_root, "web.hb");
        Directory.CreateDirectory(_root);
        var script = "hb() { n=0; while :; do n=$((n+1)); echo \"heartbeat $n\" >> \"$1\"; sleep 0.05; done; }; hb \"$1\" & sleep 1000000 & wait";
        var spec = new ContainerSpec { Name = Name, Command = ["/bin/sh", "-c", script, "sh", heartbeat], HeartbeatFile = heartbeat, WorkingDirectory = "/tmp" };
        var started = await NamespacedContainer.StartAsync(_a, spec, Criu(), ct);
        Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(heartbeat, null, ct));

        var suffix = Guid.NewGuid().ToString("N")[..12];
        var prefix = $"ctp{suffix}.";
        var appId = "detector-" + suffix;
        using var broker = await BrokerSession.OpenAsync(null, BrokerSession.AllTopics(new TopicNames(prefix), 1, appId), ct);
        var kafka = new KafkaOptions { BootstrapServers = broker.Bootstrap, TopicPrefix = prefix, Partitions = 1 };
        using var signer = CommandSigner.Ephemeral(out var verifier);
        var rules = RulesParser.Parse("rules:\n  - name: bus-lock-storm\n    counter: bus-lock\n    threshold: 1000\n    scope: machine\n", "test");
        var pipeline = new PipelineSpec(kafka)
        {
            Detector = new DetectorOptions { ApplicationId = appId, RulesFile = "(test)" },
            Planner = new PlannerOptions { GroupId = "planner-" + suffix, CommandTtl = TimeSpan.FromSeconds(60) },
            Rules = rules, Signer = signer,
        };
        using var app = Runtime.Pipeline.Build(pipeline, LogLevel.Warning, services =>
        {
            foreach (var (site, host) in new[] { (_a, "h-a"), (_b, "h-b") })
            {
                var options = new ContainerActuatorOptions { Id = site.AgentId, Agents = { [_a.AgentId] = _a.Root, [_b.AgentId] = _b.Root }, Criu = Criu() };
                services.AddSafeHavenContainerAgent(options, new ActuatorIdentity(Datacenter, host), verifier, Path.Join(_root, site.AgentId + ".journal"));
            }
        });
        await app.StartAsync(ct);
        using var clients = new KafkaClients(kafka);
        using var observer = new ConsumerBuilder<string, byte[]>(clients.Consumer("observer-" + suffix, "observer")).Build();
        observer.Subscribe([clients.Topics.Commands, clients.Topics.Results]);

        // When the detector's verdict on it arrives
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        var detection = new Detection
        {
            detectionId = "d-" + suffix, entity = new EntityRef { datacenter = Datacenter, host = "h-a", container = Name, pid = started.InitPid },
            rule = "bus-lock-storm", counter = "bus-lock", rate = 5000, threshold = 1000, scope = Scopes.Machine,
            detectedAtNs = now, firstSampleAtNs = now - 1_000_000_000, sampleSeq = 1,
        };
        using (var producer = new ProducerBuilder<string, byte[]>(clients.Producer("test-" + suffix)).Build())
        {
            await producer.ProduceAsync(clients.Topics.Detections,
                new Message<string, byte[]> { Key = EntityIds.Of(detection.entity), Value = new SingleObjectCodec<Detection>().Encode(detection) }, ct);
        }
        var (commands, results) = await ConsumeLoop.OnOwnThread(() => Observe(observer, clients.Topics, ct), ct);

        // Then the planner sent receive to ct-b and isolate to ct-a, signed, and both agents report success with phases
        var receive = Assert.Single(commands, c => c.Value.action == Actions.Receive);
        var isolate = Assert.Single(commands, c => c.Value.action == Actions.Isolate);
        Assert.Equal(("ct-b", "ct-b", Levels.Container), (receive.Key, receive.Value.target, receive.Value.level));
        Assert.Equal(("ct-a", "ct-a", "ct-b"), (isolate.Key, isolate.Value.source, isolate.Value.target));
        Assert.Equal(isolate.Value.commandId + Actions.ReceiveIdSuffix, receive.Value.commandId);
        Assert.All(commands, c => Assert.Null(verifier.Problem(c.Value)));
        var sent = results.Single(r => r.commandId == isolate.Value.commandId);
        var received = results.Single(r => r.commandId == receive.Value.commandId);
        Assert.True(sent.status == ResultStatus.Succeeded, $"isolate: {sent.status} {sent.error}");
        Assert.True(received.status == ResultStatus.Succeeded, $"receive: {received.status} {received.error}");
        Assert.All(new[] { "validate", "dump", "transfer", "release", "total" }, p => Assert.True(sent.phases.ContainsKey(p), $"isolate phase {p}"));
        Assert.All(new[] { "prepare", "restore", "verify", "total" }, p => Assert.True(received.phases.ContainsKey(p), $"receive phase {p}"));

        // And the container runs at ct-b only: registered there, gone here, and still beating
        var moved = _b.Load(Name);
        Assert.True(moved is { IsRunning: true }, "not registered and running at ct-b");
        Assert.Equal("ct-a", moved!.MovedFrom);
        Assert.Null(_a.Load(Name));
        Assert.True(Gone(started.InitPid), $"the source's init {started.InitPid} still runs");
        var last = SerialHeartbeat.Last(heartbeat);
        var next = await SerialHeartbeat.WaitBeyondAsync(heartbeat, last, ct);
        Assert.True(next is not null && await SerialHeartbeat.WaitBeyondAsync(heartbeat, next, ct) is not null, $"no heartbeat beyond {last} at ct-b");
        observer.Close();
        await app.StopAsync(CancellationToken.None);
    }

    // Commands and results until both halves of one move reported, or the source's half failed (its word is final then).
    private static (List<(string Key, IsolationCommand Value)>, List<IsolationResult>) Observe(IConsumer<string, byte[]> consumer, TopicNames topics, CancellationToken ct)
    {
        var commandCodec = new SingleObjectCodec<IsolationCommand>();
        var resultCodec = new SingleObjectCodec<IsolationResult>();
        var commands = new List<(string Key, IsolationCommand Value)>();
        var results = new List<IsolationResult>();
        bool Settled()
        {
            var moves = commands.Where(c => c.Value.action == Actions.Isolate).Select(c => c.Value.commandId).ToHashSet();
            var mine = results.Where(r => moves.Contains(r.commandId.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal)
                ? r.commandId[..^Actions.ReceiveIdSuffix.Length] : r.commandId)).ToList();
            return mine.Any(r => moves.Contains(r.commandId) && r.status != ResultStatus.Succeeded) || mine.Count >= 2;
        }
        while (!Settled())
        {
            ct.ThrowIfCancellationRequested();
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message.Value: { } value } cr)
            {
                if (cr.Topic == topics.Commands)
                {
                    commands.Add((cr.Message.Key, commandCodec.Decode(value)));
                }
                else
                {
                    results.Add(resultCodec.Decode(value));
                }
            }
        }
        return (commands, results);
    }

    // Gone or a zombie: the state letter of /proc/PID/stat.
    private static bool Gone(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        foreach (var site in new[] { _a, _b })
        {
            foreach (var name in site.Names())
            {
                NamespacedContainer.StopAsync(site, name).GetAwaiter().GetResult();
            }
        }
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
