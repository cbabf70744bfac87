using SafeHaven.Core.Samples;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// One record of every contract type with every field set (nullable ones included, non-ASCII
/// strings, extreme numbers), and one with every nullable field null and every collection empty.
/// Values differ from field to field so that a swapped field cannot go unnoticed.
/// </summary>
internal static class SampleRecords
{
    public static EntityRef FullEntity() => new()
    {
        datacenter = "dc-eu-1",
        host = "host-7",
        vm = "vm-tenant-a",
        container = "3f2a9c1e",
        pid = 424_242,
        comm = "spy-\u00e9\u4e2d",
        startTime = 9_876_543_210L,
    };

    public static EntityRef MinimalEntity() => new() { datacenter = "local", host = "h" };

    public static CounterSample FullSample() => new()
    {
        host = "host-7",
        entity = FullEntity(),
        values = new Dictionary<string, long>
        {
            ["context-switches"] = 123_456,
            ["bus-lock"] = 0,
            ["raw:0x01a2"] = long.MaxValue,
            ["tp:sched:sched_switch"] = -5,
            ["proc:majflt"] = long.MinValue,
        },
        intervalNs = 1_000_000_007,
        timestampNs = 1_764_000_000_123_456_789,
        seq = 9_007_199_254_740_993, // 2^53 + 1: not representable as a double
        droppedSamples = 3,
    };

    public static CounterSample MinimalSample() => new()
    {
        host = "",
        entity = MinimalEntity(),
        values = new Dictionary<string, long>(),
        intervalNs = 1,
        timestampNs = 0,
        seq = 0,
        droppedSamples = 0,
    };

    /// <summary>A probe's tick as the probe packs it: a full sample, then one whose entity has only a container.</summary>
    public static SampleBatch FullBatch()
    {
        var first = FullSample();
        var second = FullSample();
        second.seq = first.seq + 1;
        second.timestampNs = first.timestampNs + 4_321;
        second.entity = new EntityRef { datacenter = first.entity.datacenter, host = first.host, container = "c0ffee" };
        second.values = new Dictionary<string, long> { ["bus-lock"] = 77, ["cpu-migrations"] = 1 };
        return SampleBatches.From([first, second], droppedSamples: 5);
    }

    public static SampleBatch MinimalBatch() => new()
    {
        host = "", datacenter = "", timestampNs = 0, firstSeq = 0, droppedSamples = 0, counters = [], samples = [],
    };

    public static Detection FullDetection() => new()
    {
        detectionId = "det-7f3e",
        entity = FullEntity(),
        rule = "bus-lock-storm",
        counter = "bus-lock",
        rate = 12_345.678_901_234_5,
        threshold = 1e-300,
        scope = "machine",
        detectedAtNs = 1_764_000_001_000_000_000,
        firstSampleAtNs = 1_764_000_000_000_000_001,
        sampleSeq = 77,
    };

    public static Detection MinimalDetection() => new()
    {
        detectionId = "d",
        entity = MinimalEntity(),
        rule = "r",
        counter = "c",
        rate = double.MaxValue,
        threshold = -0.5,
        scope = "core",
        detectedAtNs = 1,
        firstSampleAtNs = 2,
        sampleSeq = 0,
    };

    public static IsolationCommand FullCommand() => new()
    {
        commandId = "cmd-0001",
        detectionId = "det-7f3e",
        entity = FullEntity(),
        level = "core",
        action = "release",
        source = "host-7",
        target = "2-3",
        issuedAtNs = 1_764_000_002_000_000_000,
        deadlineNs = 1_764_000_007_000_000_000,
        dryRun = true,
        reasons = ["scope machine needs machine", "no free host: escalate to vm", "\u00fcber"],
        keyId = "planner-key-1",
        signature = Enumerable.Range(0, 64).Select(i => (byte)(255 - (i * 7))).ToArray(),
    };

    public static IsolationCommand MinimalCommand() => new()
    {
        commandId = "c",
        detectionId = null,
        entity = MinimalEntity(),
        level = "vm",
        action = "isolate",
        source = "s",
        target = "t",
        issuedAtNs = 0,
        deadlineNs = 0,
        dryRun = false,
        reasons = [],
        keyId = null,
        signature = [],
    };

    public static IsolationResult FullResult() => new()
    {
        commandId = "cmd-0001",
        entity = FullEntity(),
        level = "vm",
        status = "failed",
        error = "migration did not converge",
        startedAtNs = 1_764_000_003_000_000_000,
        finishedAtNs = 1_764_000_004_500_000_000,
        phases = new Dictionary<string, long> { ["validate"] = 12_000, ["cpuset"] = 98_765, ["affinity"] = 60_001, ["verify"] = 4 },
        actuator = "hv-2",
        cpus = "2-3,6",
        downtimeNs = 7_000_123,
        dryRun = true,
    };

    public static IsolationResult MinimalResult() => new()
    {
        commandId = "c",
        entity = MinimalEntity(),
        level = "core",
        status = "succeeded",
        error = null,
        startedAtNs = 5,
        finishedAtNs = 6,
        phases = new Dictionary<string, long>(),
        actuator = "",
        cpus = null,
        downtimeNs = null,
        dryRun = false,
    };

    public static EntityState FullState() => new()
    {
        entityId = "dc-eu-1/host-7/pid/424242",
        kind = "process",
        entity = FullEntity(),
        tenant = "tenant-a",
        cpus = "0-7",
        isolationPool = "6-7",
        levels = ["core", "container", "vm"],
        counterStatus = new Dictionary<string, string> { ["context-switches"] = "ok", ["cache-misses"] = "not supported: no CPU PMU" },
        attributes = new Dictionary<string, string> { ["smt"] = "0,4", ["numa"] = "0" },
        updatedAtNs = 1_764_000_005_000_000_000,
    };

    public static EntityState MinimalState() => new()
    {
        entityId = "local/h",
        kind = "host",
        entity = MinimalEntity(),
        tenant = null,
        cpus = null,
        isolationPool = null,
        levels = [],
        counterStatus = new Dictionary<string, string>(),
        attributes = new Dictionary<string, string>(),
        updatedAtNs = 0,
    };

    public static DeadLetter FullDeadLetter() => new()
    {
        topic = "safehaven.samples",
        partition = 11,
        offset = 8_589_934_592, // 2^33
        key = [0x68, 0x6f, 0x73, 0x74],
        value = [0xC3, 0x01, 0x00, 0xFF, 0x80, 0x7F],
        reason = "CounterSample: unknown writer schema fingerprint",
        consumer = "detector",
        failedAtNs = 1_764_000_006_000_000_000,
    };

    public static DeadLetter MinimalDeadLetter() => new()
    {
        topic = "t",
        partition = 0,
        offset = 0,
        key = null,
        value = null,
        reason = "",
        consumer = "actuator:h",
        failedAtNs = -1,
    };
}
