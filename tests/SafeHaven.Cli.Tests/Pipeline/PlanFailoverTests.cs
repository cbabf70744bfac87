using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Two <c>safehaven plan</c> processes on the embedded broker: the one holding the ledger lease is killed with
/// SIGKILL (no goodbye to the group); the standby takes over from the ledger and issues the next command within
/// 15 s, to the free CPU, without repeating the dead planner's command.
/// </summary>
public sealed class PlanFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_standby_issues_the_next_command_within_15_s_of_a_kill_9_of_the_active_planner()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = deadline.Token;
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var prefix = $"pf{suffix}.";
        using var broker = await BrokerSession.OpenAsync(null, new TopicNames(prefix).All(1), ct);
        var keys = Directory.CreateTempSubdirectory("safehaven-plan-keys-");
        var planners = new List<(string Name, Process Process, ConcurrentQueue<string> Lines)>();
        try
        {
            Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys.FullName)).ExitCode);
            foreach (var name in new[] { "pa", "pb" })
            {
                var p = Process.Start(CliRunner.StartInfo("plan", "--bootstrap", broker.Bootstrap, "--topic-prefix", prefix, "--signing-key", keys.FullName, "--allow-unsealed", "detections,inventory,results", "--instance", name))!;
                var lines = new ConcurrentQueue<string>();
                p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) { lines.Enqueue(l); } };
                p.BeginErrorReadLine();
                planners.Add((name, p, lines));
            }
            using var clients = new KafkaClients(new KafkaOptions { BootstrapServers = broker.Bootstrap, TopicPrefix = prefix, Partitions = 1 });
            using var producer = new ProducerBuilder<string, byte[]>(clients.Producer("test")).Build();
            using var commands = new ConsumerBuilder<string, byte[]>(clients.Consumer("observer-" + suffix, "observer")).Build();
            commands.Subscribe(clients.Topics.Commands);
            await producer.ProduceAsync(clients.Topics.Inventory, new Message<string, byte[]> { Key = "dc1/h1", Value = new SingleObjectCodec<EntityState>().Encode(Actuator()) }, ct);
            // The probe's records of the suspects: a process is placed only once its group is known.
            foreach (var pid in new[] { 101, 102 })
            {
                await producer.ProduceAsync(clients.Topics.Inventory, new Message<string, byte[]>
                {
                    Key = $"dc1/h1/pid/{pid}", Value = new SingleObjectCodec<EntityState>().Encode(ProcessRecord(pid)),
                }, ct);
            }

            var d1 = Detection(101, "h1:1:r1");
            await producer.ProduceAsync(clients.Topics.Detections, Message(d1), ct);
            var c1 = await ConsumeLoop.OnOwnThread(() => TopicReader.Next<IsolationCommand>(commands, clients.Topics.Commands, ct), ct);
            Assert.Equal((101, "2"), (c1.entity.pid, c1.target));
            // The planner that booked CPU 2 is the active one; its log line may reach us after the command does.
            bool Booked((string Name, Process Process, ConcurrentQueue<string> Lines) p) => p.Lines.Any(l => l.Contains("exclusive CPU 2", StringComparison.Ordinal));
            var logged = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (!planners.Any(Booked) && DateTime.UtcNow < logged)
            {
                await Task.Delay(20, ct);
            }
            var killed = Assert.Single(planners, Booked);

            var clock = Stopwatch.StartNew();
            killed.Process.Kill();
            await killed.Process.WaitForExitAsync(ct);
            await producer.ProduceAsync(clients.Topics.Detections, Message(d1), ct);
            await producer.ProduceAsync(clients.Topics.Detections, Message(Detection(102, "h1:2:r1")), ct);
            // Commands re-sent to reconcile (no actuator answers here) may come first: wait for the new suspect's.
            var c2 = (await ConsumeLoop.OnOwnThread(() => TopicReader.Until<IsolationCommand>(commands, clients.Topics.Commands, seen => seen.Any(c => c.entity.pid == 102), ct), ct))
                .Single(c => c.entity.pid == 102);
            var takeover = clock.Elapsed;

            output.WriteLine($"killed {killed.Name}; the standby's next command came {takeover.TotalMilliseconds:F0} ms after the kill");
            Assert.Equal((102, "3"), (c2.entity.pid, c2.target));
            Assert.True(takeover < TimeSpan.FromSeconds(15), $"takeover took {takeover.TotalSeconds:F1} s");
            var survivor = planners.Single(p => p.Name != killed.Name);
            // Its log lines may reach us after the command does (the console logger writes from a queue).
            bool Rebuilt(string l) => l.Contains("ledger rebuilt from", StringComparison.Ordinal) && l.Contains("1 slots held", StringComparison.Ordinal);
            bool Deduplicated(string l) => l.Contains("detection h1:1:r1 is already in the ledger", StringComparison.Ordinal);
            await Poll.Until(() => survivor.Lines.Any(Rebuilt) && survivor.Lines.Any(Deduplicated), TimeSpan.FromSeconds(10));
            Assert.Contains(survivor.Lines, Rebuilt);
            Assert.Contains(survivor.Lines, Deduplicated);
        }
        finally
        {
            foreach (var (name, p, lines) in planners)
            {
                output.WriteLine($"--- {name}:\n{string.Join('\n', lines)}");
                if (!p.HasExited)
                {
                    p.Kill();
                }
                p.Dispose();
            }
            keys.Delete(recursive: true);
        }
    }

    private static EntityState Actuator() => new()
    {
        entityId = "dc1/h1", kind = "actuator", entity = new EntityRef { datacenter = "dc1", host = "h1" }, isolationPool = "2-3",
        levels = [Levels.Core], attributes = new Dictionary<string, string> { ["actuatorId"] = "h1-agent" },
        counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
    };

    private static EntityState ProcessRecord(int pid) => new()
    {
        entityId = $"dc1/h1/pid/{pid}", kind = "process", entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid },
        levels = [Levels.Core], attributes = new Dictionary<string, string> { ["group"] = $"pgid:{pid}" },
        counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
    };

    private static Detection Detection(int pid, string id) => new()
    {
        detectionId = id, entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid }, rule = "r1", counter = "context-switches",
        rate = 5000, threshold = 1000, scope = Scopes.Core, detectedAtNs = NowNs(), firstSampleAtNs = NowNs() - 1_000_000_000, kind = DetectionKinds.Detected,
    };

    private static Message<string, byte[]> Message(Detection d) => new()
    {
        Key = "dc1/h1/pid/" + d.entity.pid?.ToString(CultureInfo.InvariantCulture), Value = new SingleObjectCodec<Detection>().Encode(d),
    };

    private static long NowNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
}
