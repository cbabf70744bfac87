using SafeHaven.Actuators.Container;

namespace SafeHaven.MtdBench;

/// <summary>
/// Container level: the workload as the init of a namespaced container (the container agent's own kind), moved with
/// CRIU between two agent directories of this machine, as the container agent moves it (page server, pre-copy).
/// The workload appends its progress lines to a file outside both sites, which CRIU restores as the same open file.
/// </summary>
internal sealed class ContainerWorkload(string binary, CriuOptions criu) : IWorkload
{
    public string Level => "container";

    public async Task<RunResult> RunAsync(RunSpec spec, TimeSpan? period, CancellationToken ct)
    {
        var root = Path.Join(spec.WorkDir, "c-" + Guid.NewGuid().ToString("N")[..8]);
        ContainerSite[] sites = [new("bench-a", Path.Join(root, "a")), new("bench-b", Path.Join(root, "b"))];
        var ops = Path.Join(root, "ops.log");
        ContainerSite.CreatePrivate(root);
        var name = "mtdbench";
        var side = 0;
        var log = new OpsLog();
        var follower = new FileFollower(log);
        var gate = new Lock();
        using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task? poller = null;
        var moves = new List<double>();
        var downtimes = new List<double>();
        var failures = 0;
        try
        {
            return await Measure.WindowAsync(Level, spec, period, log, async () =>
            {
                await NamespacedContainer.StartAsync(sites[0], new ContainerSpec { Name = name, Command = [binary, ops], WorkingDirectory = root }, criu, ct);
                follower.Follow(ops);
                poller = Task.Run(async () =>
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
            }, async () =>
            {
                var moved = await ContainerMigrator.MigrateAsync(sites[side], sites[1 - side], name, criu, ct);
                if (!moved.Succeeded)
                {
                    failures++;
                    Console.Error.WriteLine($"mtdbench: container move failed: {moved.Error}");
                    return;
                }
                moves.Add(moved.TotalNs / 1e6);
                downtimes.Add((moved.DowntimeNs ?? 0) / 1e6);
                side = 1 - side;
            }, () => (moves, downtimes, failures), ct);
        }
        finally
        {
            await stopPolling.CancelAsync();
            if (poller is not null)
            {
                await poller;
            }
            foreach (var site in sites)
            {
                foreach (var n in site.Names())
                {
                    await NamespacedContainer.StopAsync(site, n, CancellationToken.None);
                }
            }
        }
    }
}
