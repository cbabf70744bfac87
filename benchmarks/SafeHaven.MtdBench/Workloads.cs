using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Vm;
using SafeHaven.Core;
using SafeHaven.Linux;

namespace SafeHaven.MtdBench;

/// <summary>One measured run: throughput over the window and what the moves cost.</summary>
internal sealed record RunResult(string Level, double PeriodS, bool Moved, double OpsPerSec, double WindowS, int Moves, int Failures,
    IReadOnlyList<double> MoveMs, IReadOnlyList<double> DowntimeMs, double LoadStart, double LoadEnd, double LocalRelative);

/// <summary>Settings shared by every run.</summary>
internal sealed record RunSpec(TimeSpan Warmup, TimeSpan Duration, string WorkDir);

/// <summary>A workload that can be run unmoved or moved every period.</summary>
internal interface IWorkload
{
    string Level { get; }

    Task<RunResult> RunAsync(RunSpec spec, TimeSpan? period, CancellationToken ct);
}

/// <summary>Core level: the workload as a host process, its threads' affinity moved through the pool.</summary>
internal sealed class CoreWorkload(string binary, CpuList pool) : IWorkload
{
    public string Level => "core";

    public async Task<RunResult> RunAsync(RunSpec spec, TimeSpan? period, CancellationToken ct)
    {
        var log = new OpsLog();
        var psi = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"{binary} did not start");
        p.OutputDataReceived += (_, e) => log.Line(e.Data);
        p.BeginOutputReadLine();
        var cpus = pool.Cpus.Order().ToArray();
        var position = 0;
        // Moved or not, the workload sits on one CPU at a time (an isolated entity holds one CPU): the only difference
        // between the runs is the moves themselves.
        Affinity.SetAllThreads(p.Id, CpuList.Parse(cpus[0].ToString(CultureInfo.InvariantCulture)));
        var moves = new List<double>();
        var failures = 0;
        try
        {
            return await Measure.WindowAsync(Level, spec, period, log, () => Task.CompletedTask, () =>
            {
                position = (position + 1) % cpus.Length;
                var t = Stopwatch.GetTimestamp();
                var moved = Affinity.SetAllThreads(p.Id, CpuList.Parse(cpus[position].ToString(CultureInfo.InvariantCulture)));
                if (moved.Threads > 0)
                {
                    moves.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
                else
                {
                    failures++;
                }
                return Task.CompletedTask;
            }, () => (moves, [], failures), ct);
        }
        finally
        {
            p.Kill();
            await p.WaitForExitAsync(CancellationToken.None);
        }
    }
}

/// <summary>VM level: the test guest running the workload as /init under TCG, post-copy migrated between two QEMU processes.</summary>
internal sealed class VmWorkload(string kernel, string initrd, int memoryMb) : IWorkload
{
    private const string Name = "mtdbench";

    public string Level => "vm";

    public async Task<RunResult> RunAsync(RunSpec spec, TimeSpan? period, CancellationToken ct)
    {
        var guest = new QemuGuestSpec { Name = Name, MemoryMb = memoryMb, Kernel = kernel, Initrd = initrd };
        string[] dirs = [Path.Join(spec.WorkDir, "a"), Path.Join(spec.WorkDir, "b")];
        var side = 0;
        var current = QemuGuest.Start(guest, dirs[side]);
        var qmp = await current.ConnectQmpAsync(null, ct);
        var log = new OpsLog();
        var follower = new FileFollower(log);
        var gate = new Lock();
        follower.Follow(current.SerialPath);
        using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var poller = Task.Run(async () =>
        {
            while (!stopPolling.IsCancellationRequested)
            {
                lock (gate)
                {
                    follower.Poll();
                }
                await Task.Delay(20, CancellationToken.None);
            }
        }, CancellationToken.None);
        var moves = new List<double>();
        var downtimes = new List<double>();
        var failures = 0;
        try
        {
            return await Measure.WindowAsync(Level, spec, period, log, () => Task.CompletedTask, async () =>
            {
                var other = 1 - side;
                var twin = QemuGuest.Start(guest, dirs[other], incoming: true);
                var twinQmp = await twin.ConnectQmpAsync(null, ct);
                var outcome = await QmpMigrator.MigrateAsync(qmp, twinQmp, "unix:" + Path.Join(dirs[other], Name + ".mig"), null, null,
                    new MigrationOptions(), ct);
                if (!outcome.Succeeded)
                {
                    failures++;
                    Console.Error.WriteLine($"mtdbench: move failed: {outcome.Error}");
                    await twinQmp.DisposeAsync();
                    twin.Dispose();
                    return;
                }
                moves.Add(outcome.TotalNs / 1e6);
                downtimes.Add((outcome.DowntimeNs ?? 0) / 1e6);
                lock (gate)
                {
                    follower.Poll();
                    follower.Follow(twin.SerialPath);
                }
                await qmp.DisposeAsync();
                current.Dispose();
                (current, qmp, side) = (twin, twinQmp, other);
            }, () => (moves, downtimes, failures), ct);
        }
        finally
        {
            await stopPolling.CancelAsync();
            await poller;
            await qmp.DisposeAsync();
            current.Dispose();
        }
    }
}
