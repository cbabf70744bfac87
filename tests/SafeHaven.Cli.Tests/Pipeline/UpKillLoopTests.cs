using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Schemas;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// <c>safehaven up</c> (or the planner and the agent as roles of their own) against a <c>safehaven broker</c> process,
/// killed with SIGKILL at random points 20 times while two channels of two process groups storm on a one-CPU pool. After every kill: never two groups on the pool CPU
/// and no isolated process moved back; at the end one group holds the CPU, the other and a benign process stay on
/// the shared CPUs, and every command has results that agree on its outcome.
/// </summary>
[Collection(SafeHaven.Cli.Tests.Pipeline.PoolCpuTests.Name)]
public sealed class UpKillLoopTests(ITestOutputHelper output) : IDisposable
{
    private const int Kills = 20;
    private readonly Workloads _w = new();

    private sealed record Scenario(string Bootstrap, string Rules, string Keys, string State, Dictionary<int, int[]> Workers, Process Benign)
    {
        public HashSet<int> EverIsolated { get; } = [];

        public List<string> Violations { get; } = [];
    }

    private static readonly CpuList Pool = CpuList.Of([1]);

    [SkippableFact]
    public async Task Kill_9_of_up_at_random_points_never_double_books_the_pool_cpu_nor_moves_an_isolated_process_back()
    {
        var s = await SetUpAsync();
        string[] Up(string duration) =>
        [
            "up", "--bootstrap", s.Bootstrap, "--rules", s.Rules, "--isolation-cpus", Pool.ToString(), "--cgroup", _w.Cgroup, "--period", "500ms",
            "--state-dir", s.State, "--signing-key", s.Keys, "--duration", duration,
        ];
        var random = new Random(20261204);
        for (var kill = 0; kill < Kills; kill++)
        {
            var up = _w.Start(CliRunner.StartInfo(Up("10m")));
            // A random point of the pipeline's life: start-up, enrolment, detection, the move, or quiet running.
            await Task.Delay(random.Next(300, 4000));
            up.Kill();
            await up.WaitForExitAsync();
            s.Violations.AddRange(Check(s, $"after kill {kill + 1}"));
        }
        // Long enough for the last killed detector's session to end and its partitions to come back (≈15 s here).
        var last = await CliRunner.RunAsync(TimeSpan.FromMinutes(2), Up("30s"));
        output.WriteLine("final up's log (tail):\n" + string.Join('\n', last.Stderr.Split('\n').TakeLast(30)));
        Assert.True(last.ExitCode == 0, $"final up exited {last.ExitCode}: {last.Stderr}");
        AssertEndState(s, "up");
    }

    [SkippableFact]
    public async Task Kill_9_of_the_planner_or_the_agent_alone_at_random_points_never_double_books_nor_moves_back()
    {
        var s = await SetUpAsync();
        var roles = new Dictionary<string, string[]>
        {
            ["probe"] = ["probe", "--bootstrap", s.Bootstrap, "--counters", "context-switches", "--period", "500ms", "--signing-key", s.Keys],
            ["detect"] = ["detect", "--with-planner", "--bootstrap", s.Bootstrap, "--rules", s.Rules, "--signing-key", s.Keys],
            ["actuate"] = ["actuate", "--bootstrap", s.Bootstrap, "--trusted-keys", s.Keys, "--signing-key", s.Keys, "--isolation-cpus", Pool.ToString(), "--cgroup", _w.Cgroup, "--state-dir", s.State],
        };
        var logs = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Process StartRole(string role)
        {
            var p = _w.Start(CliRunner.StartInfo(roles[role]), drained: false);
            p.StandardInput.Close();
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, e) => { if (e.Data is { } l && role != "probe") { logs.Enqueue($"{role} {p.Id}: {l}"); } };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            return p;
        }
        var running = roles.Keys.ToDictionary(r => r, StartRole);
        var random = new Random(4122026);
        for (var kill = 0; kill < Kills; kill++)
        {
            var victim = random.Next(2) == 0 ? "detect" : "actuate";
            await Task.Delay(random.Next(300, 4000));
            running[victim].Kill();
            await running[victim].WaitForExitAsync();
            s.Violations.AddRange(Check(s, $"after kill {kill + 1} ({victim})"));
            running[victim] = StartRole(victim);
        }
        // Let the restarted roles settle: one group on the pool, within a deadline.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (HoldersOf(s).Count != 1 && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }
        foreach (var p in running.Values)
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
        output.WriteLine(string.Join('\n', logs.Where(l => l.Contains("planner", StringComparison.Ordinal) || l.Contains("fail", StringComparison.Ordinal)).TakeLast(60)));
        AssertEndState(s, "detect (planner) or actuate");
    }

    private async Task<Scenario> SetUpAsync()
    {
        Skip.If(Workloads.Unavailable() is not null, Workloads.Unavailable());
        var broker = _w.Start(CliRunner.StartInfo("broker"), drained: false);
        var bootstrap = (await broker.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)))!["bootstrap: ".Length..];
        var keys = Path.Join(_w.Dir.FullName, "keys");
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys)).ExitCode);
        // The roles' own keys (docs/SECURITY.md): the probe seals its host's inventory, the agent its results, and the
        // planner, trusting the directory, accepts nothing unsealed of either kind.
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys, "--role", "probe", "--subject", $"local/{Environment.MachineName}")).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys, "--role", "actuator", "--subject", Environment.MachineName)).ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "generate", "--dir", keys, "--role", "detector", "--subject", "detector")).ExitCode);
        // Samples sealed with the host's MAC key, which the separate detect process checks with the master beside it.
        var master = await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "sample-master", "--dir", keys);
        Assert.Equal(0, master.ExitCode);
        Assert.Equal(0, (await CliRunner.RunAsync(TimeSpan.FromMinutes(1), "keys", "enrol", "--master", Path.Join(keys, master.Stdout.Trim() + ".mac"),
            "--subject", $"local/{Environment.MachineName}", "--dir", keys)).ExitCode);
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 20000\n    scope: core\n    cooldown: 5s\n");
        // Two channels, each a stress-ng pair in a process group of its own, and a benign process in a third.
        var channels = new[] { _w.Setsid("stress-ng", "--switch", "1", "--timeout", "600s"), _w.Setsid("stress-ng", "--switch", "1", "--timeout", "600s") };
        var benign = _w.Setsid("sleep", "600");
        return new Scenario(bootstrap, rules, keys, Path.Join(_w.Dir.FullName, "state"), await WorkersOf(channels), benign);
    }

    private static List<int> HoldersOf(Scenario s) => [.. s.Workers.Where(g => g.Value.All(w => Workloads.OnPool(w, Pool))).Select(g => g.Key)];

    private void AssertEndState(Scenario s, string killed)
    {
        s.Violations.AddRange(Check(s, "at the end"));
        var holders = HoldersOf(s);
        var outcomes = ReadOutcomes(s.Bootstrap);
        output.WriteLine($"{Kills} kills of {killed} at random points (0.3–4 s); isolated pids ever seen: {s.EverIsolated.Count}; " +
            $"violations: {s.Violations.Count}; final holder groups: {holders.Count}; commands: {outcomes.Commands}, with results: {outcomes.Answered}, " +
            $"conflicting outcomes: {outcomes.Conflicting.Count}; detections: {outcomes.Detections}");
        output.WriteLine(string.Join('\n', _topicEnds));
        Assert.Empty(s.Violations);
        Assert.Single(holders);
        Assert.All(s.Workers.Where(g => g.Key != holders[0]).SelectMany(g => g.Value), w => Assert.False(Workloads.OnPool(w, Pool), $"worker {w} of a second group on the pool"));
        Assert.False(Workloads.OnPool(s.Benign.Id, Pool), "the benign process was moved");
        Assert.Empty(outcomes.Conflicting);
        Assert.True(outcomes.Commands > 0 && outcomes.Answered == outcomes.Commands, $"{outcomes.Answered} of {outcomes.Commands} commands have a result");
    }

    // Violations: a second group on the pool CPU, or a process seen isolated now back on the shared CPUs.
    private static IEnumerable<string> Check(Scenario s, string when)
    {
        var (workers, pool, everIsolated) = (s.Workers, Pool, s.EverIsolated);
        var groupsOnPool = workers.Where(g => g.Value.Any(w => Workloads.OnPool(w, pool))).Select(g => g.Key).ToList();
        if (groupsOnPool.Count > 1)
        {
            yield return $"{when}: groups {string.Join(", ", groupsOnPool)} share the pool CPU";
        }
        foreach (var w in workers.Values.SelectMany(x => x))
        {
            if (Workloads.OnPool(w, pool))
            {
                everIsolated.Add(w);
            }
            else if (everIsolated.Contains(w))
            {
                yield return $"{when}: pid {w} was isolated and is back on the shared CPUs";
            }
        }
    }


    // The two stress-ng --switch workers of each channel, by channel pgid.
    private static async Task<Dictionary<int, int[]>> WorkersOf(Process[] channels)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var workers = channels.ToDictionary(c => c.Id, c => Workloads.Below(c.Id));
        while (!workers.Values.All(w => w.Length == 2))
        {
            Assert.True(DateTime.UtcNow < until, "stress-ng did not start its two workers");
            await Task.Delay(50);
            workers = channels.ToDictionary(c => c.Id, c => Workloads.Below(c.Id));
        }
        return workers;
    }

    // What the outcome check read, per topic: printed with the verdict.
    private readonly List<string> _topicEnds = [];

    private sealed record Outcomes(int Detections, int Commands, int Answered, List<string> Conflicting);

    private Outcomes ReadOutcomes(string bootstrap)
    {
        using var kafka = new KafkaClients(new KafkaOptions { BootstrapServers = bootstrap });
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("check-" + Guid.NewGuid().ToString("N"), "check")).Build();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var detections = ReadAll<Detection>(consumer, kafka.Topics.Detections, cts.Token);
        var commands = ReadAll<IsolationCommand>(consumer, kafka.Topics.Commands, cts.Token).Where(c => c.action == Actions.Isolate)
            .Select(c => c.commandId).Distinct().ToList();
        var results = ReadAll<IsolationResult>(consumer, kafka.Topics.Results, cts.Token).ToLookup(r => r.commandId);
        var conflicting = commands.Where(id => results[id].Select(r => r.status is ResultStatus.Succeeded or ResultStatus.Skipped).Distinct().Count() > 1)
            .Select(id => $"{id}: {string.Join(", ", results[id].Select(r => $"{r.status} ({r.error})"))}").ToList();
        return new Outcomes(detections.Count, commands.Count, commands.Count(id => results[id].Any()), conflicting);
    }

    private List<T> ReadAll<T>(IConsumer<string, byte[]> consumer, string topic, CancellationToken ct) where T : class, Avro.Specific.ISpecificRecord, new()
    {
        using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
        var ends = partitions.ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value);
        _topicEnds.Add($"{topic}: {partitions.Count} partitions, ends {string.Join(",", ends.Values)}");
        consumer.Assign(partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        var seen = new List<T>();
        var codec = new SafeHaven.Kafka.Serialization.SingleObjectCodec<T>();
        var next = partitions.ToDictionary(tp => tp.Partition.Value, _ => 0L);
        while (next.Any(n => n.Value < ends[n.Key]))
        {
            ct.ThrowIfCancellationRequested();
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { Message: not null } cr)
            {
                next[cr.Partition.Value] = cr.Offset.Value + 1;
                seen.Add(codec.Decode(cr.Message.Value));
            }
        }
        consumer.Unassign();
        return seen;
    }

    public void Dispose() => _w.Dispose();
}
