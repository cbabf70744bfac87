using System.Collections.Concurrent;
using System.Diagnostics;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Topics;
using SafeHaven.Kafka.Tracing;
using SafeHaven.Probes;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Issue 15's trace: the roles of <c>up</c> on the embedded broker, traced by a listener, and a storming workload. The
/// sample, detection, command and result records of its move carry one trace id in their <c>traceparent</c> headers,
/// and the spans that wrote them form one parent chain: samples publish → detect → plan → actuate.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class TraceChainTests : IDisposable
{
    private readonly Workloads _w = new();
    private readonly ConcurrentQueue<Activity> _spans = new();

    [SkippableFact]
    public async Task One_traceparent_follows_a_move_from_its_sample_to_its_result()
    {
        Skip.If(Workloads.Unavailable() is not null, Workloads.Unavailable());
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var ct = deadline.Token;
        using var listener = new ActivityListener
        {
            ShouldListenTo = SafeHavenActivity.IsOurs,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        // Given the roles of one host on a fresh broker, watching a context-switch storm
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var names = new TopicNames($"trc{suffix}.");
        var detector = new DetectorOptions { ApplicationId = "trc-detector-" + suffix };
        using var broker = await BrokerSession.OpenAsync(null, BrokerSession.AllTopics(names, 1, detector.ApplicationId), ct);
        var rulesFile = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rulesFile, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 20000\n    scope: core\n    cooldown: 60s\n", ct);
        var rules = RulesParser.Load(rulesFile);
        detector.RulesFile = rulesFile;
        var storm = _w.Setsid("stress-ng", "--switch", "1", "--timeout", "120s");
        var workers = await Poll.For(() => Workloads.Below(storm.Id) is { Length: 2 } w ? w : null, TimeSpan.FromSeconds(30), () => "stress-ng's workers");
        var host = "trc-" + suffix;
        var identity = new ActuatorIdentity("dc1", host);
        var actuator = new HostActuatorOptions { Id = "trc-agent", IsolationCpus = CpuList.Of([1]), CgroupName = _w.Cgroup, StateDirectory = "" };
        using var signer = CommandSigner.Ephemeral(out var verifier);
        var spec = new PipelineSpec(new KafkaOptions { BootstrapServers = broker.Bootstrap, TopicPrefix = names.Prefix, Partitions = 1 })
        {
            Probe = new ProbeOptions { Datacenter = "dc1", HostId = host, Period = TimeSpan.FromMilliseconds(500), Counters = [.. rules.Counters], Pids = [.. workers], RulesFile = rulesFile },
            Detector = detector, Rules = rules, Identity = identity, Actuator = actuator, Signer = signer, Verifier = verifier,
            // A dry run: the command travels and is answered; nothing moves.
            Planner = new PlannerOptions { DryRun = true, GroupId = "trc-planner-" + suffix, InstanceId = "trc" },
            Seals = RoleSeals.Ephemeral(EntityIds.OfHost("dc1", host), actuator.Id),
        };
        using var app = Runtime.Pipeline.Build(spec, LogLevel.Warning);
        await app.StartAsync(ct);
        try
        {
            // When the storm is detected and its command answered
            var records = await ConsumeLoop.OnOwnThread(() => ReadUntilTracedResult(broker.Bootstrap, names, ct), ct);

            // Then one trace id runs through the four records, and each record names the span that wrote it
            var trace = records.Result.TraceId;
            Assert.Equal(trace, records.Command.TraceId);
            Assert.Equal(trace, records.Detection.TraceId);
            Assert.Equal(trace, records.Sample.TraceId);
            var spans = await Poll.For(() => SpansOf(trace) is { } s && s.Any(a => a.OperationName == SafeHavenActivity.Actuate) ? s : null,
                TimeSpan.FromSeconds(10), () => "the actuate span to stop");
            var publish = Assert.Single(spans, s => s.SpanId == records.Sample.SpanId);
            var detect = Assert.Single(spans, s => s.SpanId == records.Detection.SpanId);
            var plan = Assert.Single(spans, s => s.SpanId == records.Command.SpanId);
            var actuate = Assert.Single(spans, s => s.SpanId == records.Result.SpanId);
            Assert.Equal(
                [SafeHavenActivity.SamplesPublish, SafeHavenActivity.Detect, SafeHavenActivity.Plan, SafeHavenActivity.Actuate],
                new[] { publish, detect, plan, actuate }.Select(s => s.OperationName));
            Assert.Equal(
                [SafeHavenActivity.Probe, SafeHavenActivity.Detector, SafeHavenActivity.Planner, SafeHavenActivity.Actuator],
                new[] { publish, detect, plan, actuate }.Select(s => s.Source));
            Assert.Equal(default, publish.ParentSpanId);
            Assert.Equal(publish.SpanId, detect.ParentSpanId);
            Assert.Equal(detect.SpanId, plan.ParentSpanId);
            Assert.Equal(plan.SpanId, actuate.ParentSpanId);
            Assert.Contains(actuate.Events, e => e.Name.StartsWith("phase ", StringComparison.Ordinal));
            // In order: each span started after its parent did.
            Assert.True(publish.StartTimeUtc <= detect.StartTimeUtc && detect.StartTimeUtc <= plan.StartTimeUtc && plan.StartTimeUtc <= actuate.StartTimeUtc,
                string.Join(", ", new[] { publish, detect, plan, actuate }.Select(s => $"{s.OperationName}@{s.StartTimeUtc:O}")));
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    private List<Activity>? SpansOf(ActivityTraceId trace) => [.. _spans.Where(s => s.TraceId == trace)];

    private sealed record Traced(ActivityTraceId TraceId, ActivitySpanId SpanId);

    private sealed record Chain(Traced Sample, Traced Detection, Traced Command, Traced Result);

    // Reads the four topics from their start until a traced result whose trace id is also on a command, a detection and a sample.
    private static Chain ReadUntilTracedResult(string bootstrap, TopicNames names, CancellationToken ct)
    {
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = bootstrap, TopicPrefix = names.Prefix });
        var config = kafka.Consumer("trc-read-" + Guid.NewGuid().ToString("N"), "trc-read");
        config.EnableAutoCommit = false;
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        var topics = new[] { names.Samples, names.Detections, names.Commands, names.Results };
        consumer.Assign(topics.Select(t => new TopicPartitionOffset(t, 0, Offset.Beginning)));
        var seen = topics.ToDictionary(t => t, _ => new List<Traced>());
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { Message: not null } cr || !TraceHeaders.TryExtract(cr.Message.Headers, out var context))
                {
                    continue;
                }
                seen[cr.Topic].Add(new Traced(context.TraceId, context.SpanId));
                foreach (var result in seen[names.Results])
                {
                    Traced? On(string topic) => seen[topic].FirstOrDefault(r => r.TraceId == result.TraceId);
                    if (On(names.Commands) is { } c && On(names.Detections) is { } d && On(names.Samples) is { } s)
                    {
                        return new Chain(s, d, c, result);
                    }
                }
            }
        }
        finally
        {
            consumer.Close();
        }
    }

    public void Dispose() => _w.Dispose();
}
