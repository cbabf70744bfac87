using System.Diagnostics;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Issue 10's hostile-input run: <c>safehaven up</c> on a <c>safehaven broker</c> process, with a canary channel isolated
/// on the one-CPU pool, gets over 1,000 hostile records on each of samples, inventory, detections, results, commands and
/// placements (random bytes, truncated and 1 MiB records, wrong fingerprints, absurd values sealed by the roles' own
/// keys, forged and tampered seals, replays of genuine records). Proves: every refused record has exactly one dead
/// letter and every authentic one none; nothing moved, no command for pid 1, a stale or forged detection, a forged
/// actuator or a process outside the inventory, and the canary's slot unchanged in the ledger; then a second canary is
/// still detected and isolated, and <c>up</c> stops cleanly.
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class HostileInputTests(ITestOutputHelper output) : IDisposable
{
    private static readonly CpuList Pool = CpuList.Of([1]);
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);
    private readonly Workloads _w = new();
    private RoleProcess? _up;

    [SkippableFact]
    public async Task Over_1000_hostile_records_per_topic_are_each_dead_lettered_or_harmless_and_every_role_still_isolates_a_canary()
    {
        Skip.If(Workloads.Unavailable() is not null, Workloads.Unavailable());
        var clock = Stopwatch.StartNew();
        var random = new Random(20261210);
        var host = Environment.MachineName;
        var topics = new TopicNames("safehaven.");
        var broker = RoleProcess.Start(_w, ["broker"]);
        var bootstrap = (await broker.FirstStdoutLine.WaitAsync(Within))["bootstrap: ".Length..];
        var state = Path.Join(_w.Dir.FullName, "state");
        // The roles' keys, made where up keeps them (it reuses them), so this writer can play a compromised role.
        var keys = RoleSeals.Persistent(Path.Join(state, "record-keys"), $"local/{host}", host);
        var foreign = RoleSeals.Ephemeral($"local/{host}", host);
        using var foreignPlanner = CommandSigner.Ephemeral(out _);
        using var writer = new HostileWriter(bootstrap);
        var written = await writer.WriteAsync(HostileCatalog.Placements(random, topics.Placements, host, keys, foreign), random);

        var benign = _w.Setsid("sleep", "600");
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        // Far above what this test's own process makes while it floods the broker (≈ 20,000/s, and up watches every
        // process), far below a stress-ng switch pair (≈ 200,000/s per worker here).
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 100000\n    sustain: 2\n    scope: core\n    cooldown: 5s\n");
        _up = RoleProcess.Start(_w, ["up", "--bootstrap", bootstrap, "--rules", rules, "--isolation-cpus", Pool.ToString(), "--cgroup", _w.Cgroup,
            "--period", "500ms", "--state-dir", state, "--duration", "5m"]);
        await _up.LineAsync("active (lease held)", Within);
        var first = await IsolatedCanaryAsync();
        var genuine = await Until(() => Genuine(bootstrap, topics, host, benign.Id, first.Workers), "genuine records of every kind");
        var scene = new HostileScene(host, host, keys, foreign, foreignPlanner, new SingleObjectCodec<EntityState>().Decode(genuine.Benign.Value),
            $"local/{host}/pid/{first.Workers[0]}", genuine.ByKind);
        var slotBefore = CanarySlot(bootstrap, topics, first.Workers);
        var setUp = clock.Elapsed;

        // When the hostile records arrive
        List<Hostile> flood = [.. HostileCatalog.Samples(random, topics.Samples, scene), .. HostileCatalog.Inventory(random, topics.Inventory, scene),
            .. HostileCatalog.Detections(random, topics.Detections, scene), .. HostileCatalog.Results(random, topics.Results, scene),
            .. HostileCatalog.Commands(random, topics.Commands, scene)];
        written.AddRange(await writer.WriteAsync(flood, random));
        var refused = written.Where(w => w.Record.Expect == Expect.DeadLetter).Select(w => w.At).ToHashSet();
        if (!writer.ReadDeadLetters(() => refused.All(writer.DeadLetters.ContainsKey), Within))
        {
            HostileVerdict.Check(written, writer.DeadLetters, bootstrap, topics, host, benign.Id); // fails, naming what is missing
        }
        var handled = clock.Elapsed;

        // Then nothing moved and the canary's slot is as it was
        Assert.All(first.Workers, w => Assert.True(Workloads.OnPool(w, Pool), $"canary worker {w} left the pool CPU"));
        Assert.False(Workloads.OnPool(benign.Id, Pool), "the benign process was moved");
        Assert.Equal(slotBefore, CanarySlot(bootstrap, topics, first.Workers));

        // And every role still works: a second canary of another group gets the CPU once the first exits
        first.Canary.Kill(entireProcessTree: true);
        await IsolatedCanaryAsync();
        var isolatedAgain = clock.Elapsed;
        Assert.True(writer.ReadDeadLetters(null, Within), "the dead-letter topic could not be read to its end");
        Assert.False(_up.Process.HasExited, "up exited:\n" + _up.Stderr);
        Assert.DoesNotContain("a role died", _up.Stderr, StringComparison.Ordinal);
        var figures = HostileVerdict.Check(written, writer.DeadLetters, bootstrap, topics, host, benign.Id);
        await _up.TerminateAsync();
        await _up.ExitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, _up.Process.ExitCode);
        output.WriteLine($"set-up {setUp.TotalSeconds:F1} s; {flood.Count} records written and handled in {(handled - setUp).TotalSeconds:F1} s; " +
            $"second canary isolated {(isolatedAgain - handled).TotalSeconds:F1} s later; total {clock.Elapsed.TotalSeconds:F1} s\n{figures}");
    }

    // A stress-ng pair in a group of its own, started now; returns its two workers once both are on the pool CPU.
    private async Task<(Process Canary, int[] Workers)> IsolatedCanaryAsync()
    {
        var canary = _w.Setsid("stress-ng", "--switch", "1", "--timeout", "300s");
        var workers = await Until(() => Workloads.Below(canary.Id) is { Length: 2 } w ? w : null, "the canary's two workers");
        await Until(() => workers.All(w => Workloads.OnPool(w, Pool)) ? workers : null, "the canary isolated on the pool CPU");
        return (canary, workers);
    }

    private sealed record GenuineRecords(RawRecord Benign, Dictionary<string, List<RawRecord>> ByKind);

    // Sealed records the roles wrote, one kind per topic: the templates and replays of the hostile writer.
    private static GenuineRecords? Genuine(string bootstrap, TopicNames topics, string host, int benign, int[] canary)
    {
        // Any seal header: samples may carry another kind of seal than the other kinds.
        static bool Sealed(RawRecord r) => r.Headers?.Any(h => h.Key.StartsWith("sh-", StringComparison.Ordinal)) == true;
        List<RawRecord> Read(string topic) => RawTopics.ReadAll(bootstrap, topic, Within);
        bool OfCanary(EntityRef e) => e.pid is { } pid && canary.Contains(pid);
        var samples = Read(topics.Samples).Where(r => Sealed(r) && r.Value is { } v && SampleBatchDecoder.IsSampleBatch(v)
            && new SingleObjectCodec<SampleBatch>().Decode(v).samples.Count > 0).TakeLast(50).ToList();
        var inventory = Read(topics.Inventory).Where(r => Sealed(r) && r.Value is not null).ToList();
        var detections = Read(topics.Detections).Where(r => Sealed(r) && OfCanary(new SingleObjectCodec<Detection>().Decode(r.Value).entity)).ToList();
        var commands = Read(topics.Commands).Where(r => new SingleObjectCodec<IsolationCommand>().Decode(r.Value) is { action: Actions.Isolate } c && OfCanary(c.entity)).ToList();
        var ids = commands.Select(c => new SingleObjectCodec<IsolationCommand>().Decode(c.Value).commandId).ToHashSet();
        var results = Read(topics.Results).Where(r => new SingleObjectCodec<IsolationResult>().Decode(r.Value) is { status: ResultStatus.Succeeded } x && ids.Contains(x.commandId)).ToList();
        var benignRecord = inventory.LastOrDefault(r => r.Key == $"local/{host}/pid/{benign}");
        return benignRecord is null || new[] { samples, detections, commands, results }.Any(l => l.Count == 0) ? null
            : new GenuineRecords(benignRecord, new()
            {
                [Seals.Kinds.Samples] = samples, [Seals.Kinds.Inventory] = inventory.TakeLast(50).ToList(), [Seals.Kinds.Detections] = detections,
                [Seals.Kinds.Commands] = commands, [Seals.Kinds.Results] = results,
            });
    }

    // Where the ledger's latest record about the canary's slot is: unchanged while hostile records come and go.
    private static (int, long)? CanarySlot(string bootstrap, TopicNames topics, int[] canary)
    {
        var ledger = RawTopics.ReadAll(bootstrap, topics.Placements, Within).Where(r => r.Headers?.Any(h => h.Key == RecordSeal.SignatureHeader) == true)
            .Select(r => (r, Slot: Decode<SlotRecord>(r.Value))).Where(x => x.Slot is not null).ToList();
        var slot = ledger.LastOrDefault(x => x.Slot!.members.Any(m => m.entity.pid is { } p && canary.Contains(p))).Slot?.slot;
        return ledger.LastOrDefault(x => x.Slot!.slot == slot) is { r: { } last } ? (last.Partition, last.Offset) : null;
    }

    internal static T? Decode<T>(byte[]? value) where T : class, Avro.Specific.ISpecificRecord, new()
    {
        try
        {
            return value is null ? null : new SingleObjectCodec<T>().Decode(value);
        }
        catch (AvroDecodeException)
        {
            return null;
        }
    }

    private async Task<T> Until<T>(Func<T?> probe, string what) where T : class
    {
        var until = DateTime.UtcNow + Within;
        for (var value = probe(); ; value = probe())
        {
            if (value is not null)
            {
                return value;
            }
            Assert.True(DateTime.UtcNow < until, $"{what} within {Within.TotalSeconds} s; up's log:\n{string.Join('\n', _up?.Stderr.Split('\n').TakeLast(40) ?? [])}");
            await Task.Delay(20);
        }
    }

    public void Dispose() => _w.Dispose();
}
