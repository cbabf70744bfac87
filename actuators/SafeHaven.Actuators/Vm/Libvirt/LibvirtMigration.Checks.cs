using SafeHaven.Actuators.Agent;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>After the move: is the guest healthy at the destination, and where is it when the move failed.</summary>
internal static partial class LibvirtMigration
{
    /// <summary>
    /// The destination runs the domain, the source no longer does, and (with a serial file) the destination's
    /// heartbeat continues from the source's last one and grows. Error is null when all holds.
    /// </summary>
    public static async Task<(string? Error, (long First, long Last)? Beats)> VerifyAsync(LibvirtConnection source, LibvirtConnection destination,
        string name, string? serial, long? sourceLast, TimeSpan timeout, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            var there = await destination.StateAsync(name, bound.Token).ConfigureAwait(false);
            if (there is not { IsRunning: true })
            {
                return ($"destination state is '{there?.ToString() ?? "absent"}', not running", null);
            }
            if (await source.StateAsync(name, bound.Token).ConfigureAwait(false) is { IsRunning: true } here)
            {
                return ($"the source still runs the guest too ({here})", null);
            }
        }
        catch (Exception e) when (e is LibvirtException or OperationCanceledException)
        {
            return ($"could not read the domain states: {e.Message}", null);
        }
        if (serial is null)
        {
            return (null, null);
        }
        // Under the same bound as the check above: the whole verification keeps one deadline.
        return await SerialHeartbeat.VerifyContinuesAsync(serial, sourceLast, timeout, bound.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// Reports where the guest is after a failed move, resuming it at the source when libvirt left it paused there
    /// before post-copy began (libvirt itself resumes the source after a failed pre-copy). Not cancellable: after a
    /// cancelled move the caller needs to know all the more where the guest is; bounded by 15 s instead.
    /// </summary>
    public static async Task<MigrationOutcome> FailAsync(LibvirtConnection source, LibvirtConnection destination, string name,
        string error, Dictionary<string, long> phases)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            var here = await source.StateAsync(name, bound.Token).ConfigureAwait(false);
            if (here is { State: "paused" } && here.Reason.StartsWith("post-copy", StringComparison.Ordinal))
            {
                return new MigrationOutcome
                {
                    Error = $"{error}; post-copy had begun (source {here}): guest state is split, recover with virsh migrate --postcopy-resume",
                    GuestAt = "split", PhasesNs = phases,
                };
            }
            if (here is { State: "paused" })
            {
                await source.ResumeAsync(name, bound.Token).ConfigureAwait(false);
                here = await source.StateAsync(name, bound.Token).ConfigureAwait(false);
            }
            if (here is { IsRunning: true })
            {
                return new MigrationOutcome { Error = $"{error}; guest kept running at the source", GuestAt = "source", PhasesNs = phases };
            }
            var there = await destination.StateAsync(name, bound.Token).ConfigureAwait(false);
            if (there is { IsRunning: true })
            {
                return new MigrationOutcome { Error = $"{error}; the guest runs at the destination nevertheless", GuestAt = "destination", PhasesNs = phases };
            }
            return new MigrationOutcome
            {
                Error = $"{error}; the guest runs neither at the source ({here?.ToString() ?? "absent"}) nor at the destination ({there?.ToString() ?? "absent"})",
                GuestAt = "unknown", PhasesNs = phases,
            };
        }
        catch (Exception e) when (e is LibvirtException or OperationCanceledException)
        {
            return new MigrationOutcome { Error = $"{error}; could not check or resume the source: {e.Message}", GuestAt = "unknown", PhasesNs = phases };
        }
    }
}
