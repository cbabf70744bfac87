using SafeHaven.Schemas;

namespace SafeHaven.Security.Tests;

internal static class Commands
{
    public static IsolationCommand New() => new()
    {
        commandId = "c-h1:7:storm-core-1",
        detectionId = "h1:7:storm",
        entity = new EntityRef { datacenter = "dc1", host = "h1", pid = 4242, comm = "spy", startTime = 99 },
        level = "core",
        action = "isolate",
        source = "h1",
        target = "3",
        issuedAtNs = 1_700_000_000_000_000_000,
        deadlineNs = 1_700_000_010_000_000_000,
        dryRun = false,
        reasons = ["level core: exclusive CPU 3"],
        signature = [],
    };
}
