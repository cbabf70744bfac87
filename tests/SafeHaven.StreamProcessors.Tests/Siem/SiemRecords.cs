using SafeHaven.Core.Placement;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Tests.Siem;

/// <summary>Detections and results as the pipeline writes them, for the projector's tests.</summary>
internal static class SiemRecords
{
    public const long At = 1_764_000_001_000_000_000;

    public static EntityRef Process(int pid = 4242, string? container = null) =>
        new() { datacenter = "dc1", host = "h1", pid = pid, comm = "spy", container = container, startTime = 99 };

    public static EntityRef Vm(string name = "guest-1") => new() { datacenter = "dc1", host = "hv1", vm = name };

    public static SafeHaven.Schemas.Detection Detection(EntityRef? entity = null, string? kind = null, long seq = 7) => new()
    {
        detectionId = $"h1:{At}:{seq}:cs-storm",
        entity = entity ?? Process(),
        rule = "cs-storm",
        counter = "context-switches",
        rate = 52_000.5,
        threshold = 1000,
        scope = "core",
        detectedAtNs = At,
        firstSampleAtNs = At - 1_000_000_000,
        sampleSeq = seq,
        kind = kind,
    };

    /// <summary>The result of the command the planner issues for <paramref name="detection"/> at <paramref name="level"/>.</summary>
    public static IsolationResult Result(SafeHaven.Schemas.Detection detection, string level = "core", string status = "succeeded",
        string step = "") => new()
    {
        commandId = Planner.CommandId(detection.detectionId, (step.Length > 0 ? step : level)),
        entity = detection.entity,
        level = level,
        status = status,
        error = status == "succeeded" ? null : "no free slot",
        startedAtNs = At + 50_000_000,
        finishedAtNs = At + 75_000_000,
        phases = new Dictionary<string, long> { ["cpuset"] = 20_000_000, ["verify"] = 5_000_000 },
        actuator = "h1",
        cpus = level == "core" ? "3" : null,
        downtimeNs = level == "vm" ? 4_000_000 : null,
        dryRun = false,
    };
}
