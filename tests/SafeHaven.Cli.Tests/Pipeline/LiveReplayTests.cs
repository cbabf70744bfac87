using System.Globalization;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Kafka.Clients;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.Traces;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Issue 12's done-when: a trace recorded from a live <c>up</c> run (a context-switch storm beside a sleeper) replays,
/// twice, each time into a fresh broker with its own detector, to the same detections with the same ids.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed partial class LiveReplayTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly Workloads _w = new();

    [SkippableFact]
    public async Task A_trace_recorded_from_a_live_up_run_replays_to_the_same_detection_ids_twice()
    {
        Skip.If(Workloads.Unavailable() is not null, Workloads.Unavailable());
        var dir = _w.Dir.FullName;
        var rules = Path.Join(dir, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 20000\n    scope: core\n    cooldown: 5s\n");
        var keys = Path.Join(dir, "state", "record-keys");
        var live = Path.Join(dir, "live.trace");

        // Given a live run of up, recorded with its detections and results
        var b1 = await BrokerAsync();
        var benign = _w.Setsid("sleep", "300");
        var storm = _w.Setsid("stress-ng", "--switch", "1", "--timeout", "120s");
        var workers = await Until(() => Workloads.Below(storm.Id) is { Length: 2 } w ? w : null, "no stress-ng workers");
        var up = RoleProcess.Start(_w, ["up", "--bootstrap", b1, "--rules", rules, "--dry-run", "--state-dir", Path.Join(dir, "state"), "--cgroup", _w.Cgroup,
            "--period", "500ms", "--duration", "3m", "--pid", Pid(benign.Id), "--pid", Pid(storm.Id), "--pid", Pid(workers[0]), "--pid", Pid(workers[1])]);
        await Until(() => Directory.Exists(keys) && Directory.GetFiles(keys, "*.mac").Length > 0 ? keys : null, "up never wrote its record keys");
        var recorder = RoleProcess.Start(_w, ["record", "--bootstrap", b1, "--out", live, "--include", "detections,results", "--trusted-keys", keys]);
        await Until(() => Detections(recorder.Stderr) >= 1 ? recorder : null, "no detection recorded from the live run", recorder);

        // When up stops, a detector of its group reads the samples up's own had not read yet, and the recorder has
        // everything both wrote. On a loaded machine up's detector lags its probe, and SIGTERM stops it where it is
        // (the next instance resumes from the group's offsets), while the recorder took every sample: at load 30-40 the
        // first replay found the last two windows' detections, which the live run had not made yet (2026-12-05).
        await up.TerminateAsync();
        await up.ExitAsync(TimeSpan.FromSeconds(30));
        var resumed = RoleProcess.Start(_w, ["detect", "--bootstrap", b1, "--rules", rules, "--signing-key", keys]);
        Assert.True(await Poll.Until(() => Task.FromResult(DetectorCaughtUp(b1)), Patience, TimeSpan.FromMilliseconds(500)),
            $"the resumed detector never read the samples to their end; stderr:\n{resumed.Stderr}");
        await Until(() => Settled(recorder.Stderr) && Detections(recorder.Stderr) == DetectionsOn(b1) ? recorder : null, "the recording never settled", recorder);
        await resumed.TerminateAsync();
        await resumed.ExitAsync(TimeSpan.FromSeconds(30));
        await recorder.TerminateAsync();
        await recorder.ExitAsync(TimeSpan.FromSeconds(30));
        var liveIds = Ids(live);
        Assert.NotEmpty(liveIds);

        // Then each replay into a fresh broker, through its own detector, gives the same detection ids
        for (var run = 1; run <= 2; run++)
        {
            var b = await BrokerAsync();
            RoleProcess.Start(_w, ["detect", "--bootstrap", b, "--rules", rules, "--signing-key", keys]);
            var copy = Path.Join(dir, $"replay{run}.trace");
            var again = RoleProcess.Start(_w, ["record", "--bootstrap", b, "--out", copy, "--include", "detections"]);
            var replay = await CliRunner.RunAsync(TimeSpan.FromMinutes(2), "replay", live, "--bootstrap", b, "--signing-key", keys, "--speed", "max");
            Assert.True(replay.ExitCode == 0, $"replay {run} exited {replay.ExitCode}: {replay.Stderr}");
            await Until(() => Detections(again.Stderr) >= liveIds.Count && Settled(again.Stderr) ? again : null, $"replay {run} never reached {liveIds.Count} detections", again);
            await again.TerminateAsync();
            await again.ExitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(liveIds, Ids(copy));
        }
    }

    private async Task<string> BrokerAsync()
    {
        var broker = RoleProcess.Start(_w, ["broker"]);
        var line = await broker.FirstStdoutLine.WaitAsync(Patience);
        Assert.StartsWith("bootstrap: ", line, StringComparison.Ordinal);
        return line["bootstrap: ".Length..];
    }

    // The detector group's committed offsets (up's and detect's default application id) at the samples topic's end.
    private static bool DetectorCaughtUp(string bootstrap)
    {
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = bootstrap });
        var config = kafka.Consumer(new DetectorOptions().ApplicationId, "lag-check");
        config.EnableAutoCommit = false;
        // Built, never subscribed: it reads the group's offsets without joining the group.
        using var consumer = new ConsumerBuilder<string, byte[]>(config).Build();
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var samples = admin.GetMetadata(kafka.Topics.Samples, TimeSpan.FromSeconds(10)).Topics.Single().Partitions
            .Select(p => new TopicPartition(kafka.Topics.Samples, p.PartitionId)).ToList();
        return consumer.Committed(samples, TimeSpan.FromSeconds(10)).All(c =>
            consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)) is var w && (c.Offset == Offset.Unset ? w.Low : c.Offset).Value >= w.High.Value);
    }

    private static int DetectionsOn(string bootstrap)
    {
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = bootstrap });
        return RawTopics.ReadAll(bootstrap, kafka.Topics.Detections, Patience).Count;
    }

    private static string Pid(int pid) => pid.ToString(CultureInfo.InvariantCulture);

    private static List<string> Ids(string trace)
    {
        using var reader = TraceReader.Open(trace);
        return [.. reader.Where(e => e.Kind == TraceKind.Detections).Select(e => e.Detection!.detectionId).Order(StringComparer.Ordinal)];
    }

    // The recorder's progress lines: "record: N records (S samples, I inventory, D detections, R results), …".
    private static int Detections(string stderr) =>
        Progress().Matches(stderr) is { Count: > 0 } m ? int.Parse(m[^1].Groups["d"].Value, CultureInfo.InvariantCulture) : 0;

    // Two progress lines in a row with the same record count: nothing more is coming.
    private static bool Settled(string stderr) =>
        Progress().Matches(stderr) is { Count: >= 2 } m && m[^1].Groups["n"].Value == m[^2].Groups["n"].Value;

    [GeneratedRegex(@"record: (?<n>\d+) records \(\d+ samples, \d+ inventory, (?<d>\d+) detections")]
    private static partial Regex Progress();

    private static Task<T> Until<T>(Func<T?> probe, string what, RoleProcess? role = null) where T : class =>
        Poll.For(probe, Patience, () => what + (role is null ? "" : "; stderr:\n" + role.Stderr));

    public void Dispose() => _w.Dispose();
}
