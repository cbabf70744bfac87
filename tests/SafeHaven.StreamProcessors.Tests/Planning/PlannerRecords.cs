using SafeHaven.Core;
using SafeHaven.Schemas;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors.Tests.Planning;

/// <summary>The inventory and detection records the planner's broker tests feed it, on host dc1/h1 unless said.</summary>
internal static class PlannerRecords
{
    public static long NowNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>A core-level actuator's capability record.</summary>
    public static EntityState Actuator(string host, string id, string pool = "2-3") => new()
    {
        entityId = $"dc1/{host}/actuator/{id}", kind = InventoryKinds.Actuator, entity = new EntityRef { datacenter = "dc1", host = host },
        isolationPool = pool, levels = [Levels.Core], attributes = new Dictionary<string, string> { ["actuatorId"] = id },
        counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
    };

    /// <summary>The probe's record of a process, in a process group of its own.</summary>
    public static EntityState Process(int pid) => new()
    {
        entityId = $"dc1/h1/pid/{pid}", kind = "process", entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid },
        levels = [Levels.Core], attributes = new Dictionary<string, string> { ["group"] = $"pgid:{pid}" },
        counterStatus = new Dictionary<string, string>(), updatedAtNs = 1,
    };

    /// <summary>A core-scope detection dated now (the planner dead-letters detections outside its TTL).</summary>
    public static Schemas.Detection DetectionOf(int pid, string id) => new()
    {
        detectionId = id, entity = new EntityRef { datacenter = "dc1", host = "h1", pid = pid }, rule = "r1", counter = "context-switches",
        rate = 5000, threshold = 1000, scope = Scopes.Core, detectedAtNs = NowNs(), firstSampleAtNs = NowNs() - 1_000_000_000, kind = DetectionKinds.Detected,
    };
}
