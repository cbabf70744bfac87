using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Vm;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>Whether real checkpoint/restore can run here: root, the private criu, and a passing <c>criu check</c>.</summary>
internal static class CriuHost
{
    private static readonly Lazy<CriuCapability> Probed = new(() =>
        Environment.UserName != "root"
            ? new CriuCapability { Reason = "checkpoint/restore of namespaced trees needs root" }
            : CriuCapability.ProbeAsync(new CriuOptions()).GetAwaiter().GetResult());

    /// <summary>Null when containers can move here, else why not (the skip reason).</summary>
    public static string? Problem => Probed.Value.Available ? null : Probed.Value.Reason;

    /// <summary>Null when lazy pages work too, else why not.</summary>
    public static string? LazyProblem => Problem ?? (Probed.Value.LazyPages ? null : Probed.Value.LazyPagesReason);

    /// <summary>
    /// Ports no test listens on: 27300..27399 is split among the classes below, the Cli pipeline test has 27400..27499.
    /// </summary>
    public const int UnusedPorts = 27500;

    /// <summary>
    /// Test settings: short waits, and ports <paramref name="portBase"/>..+14 for one test class alone: classes run
    /// in parallel, and a port another class's criu took between our look and our bind would fail the move.
    /// Bases: 27300 migrator, 27315 actuator, 27330 reconcile, 27345 failure paths, 27360 orphans, 27375 measurements.
    /// </summary>
    public static CriuOptions Options(int portBase, CriuPageMode mode = CriuPageMode.PageServer) => new()
    {
        Mode = mode, PortMin = portBase, PortMax = portBase + 14, PrepareTimeout = TimeSpan.FromSeconds(20), VerifyTimeout = TimeSpan.FromSeconds(15),
    };

    /// <summary>
    /// A 3-process container: init sh, a subshell appending <c>heartbeat N</c> every 50 ms (plus its short-lived
    /// sleeps), a long sleep, and with <paramref name="memoryMb"/> a python3 holding that much touched memory.
    /// </summary>
    public static ContainerSpec Spec(string name, string heartbeatFile, int memoryMb = 0)
    {
        var memory = memoryMb > 0
            ? $"/usr/bin/python3 -c 'import time; b = bytearray({memoryMb} << 20); b[::4096] = b\"\\x01\" * len(b[::4096]); print(\"ready\", flush=True); time.sleep(10**7)' &"
            : "";
        var script = $"hb() {{ n=0; while :; do n=$((n+1)); echo \"heartbeat $n\" >> \"$1\"; sleep 0.05; done; }}; hb \"$1\" & sleep 1000000 & {memory} wait";
        return new ContainerSpec { Name = name, Command = ["/bin/sh", "-c", script, "sh", heartbeatFile], HeartbeatFile = heartbeatFile, WorkingDirectory = "/tmp" };
    }

    /// <summary>Waits (bounded) until the file shows at least <paramref name="beats"/> more heartbeats than <paramref name="after"/>.</summary>
    public static async Task<long> BeatsAsync(string file, long? after, int beats = 2)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        long? seen = after;
        for (var i = 0; i < beats; i++)
        {
            seen = await SerialHeartbeat.WaitBeyondAsync(file, seen, deadline.Token);
            Assert.True(seen is not null, $"no heartbeat in {file} beyond {after} within 15 s");
        }
        return seen!.Value;
    }
}

/// <summary>Two agent directories ("hosts") under /tmp for one test; stops every container and removes them.</summary>
internal sealed class ContainerSandbox : IDisposable
{
    public ContainerSandbox()
    {
        Root = Path.Join("/tmp", "shct-" + Guid.NewGuid().ToString("N")[..8]);
        A = new ContainerSite("host-a", Path.Join(Root, "a"));
        B = new ContainerSite("host-b", Path.Join(Root, "b"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public ContainerSite A { get; }

    public ContainerSite B { get; }

    public string File(string name) => Path.Join(Root, name);

    public void Dispose()
    {
        foreach (var site in new[] { A, B })
        {
            foreach (var name in site.Names())
            {
                NamespacedContainer.StopAsync(site, name).GetAwaiter().GetResult();
            }
        }
        Directory.Delete(Root, recursive: true);
    }
}
