namespace SafeHaven.Probes.Proc;

/// <summary>
/// Enumerates the processes to watch: every user process by default (kernel threads and
/// zombies skipped), optionally narrowed to explicit pids and/or command names.
/// </summary>
public sealed class ProcessDiscovery
{
    private readonly ProcFs _proc;
    private readonly HashSet<int> _pids;
    private readonly HashSet<string> _comms;

    /// <summary>Creates a discovery; empty <paramref name="pids"/> or <paramref name="comms"/> means "no filter".</summary>
    public ProcessDiscovery(IEnumerable<int>? pids = null, IEnumerable<string>? comms = null, ProcFs? proc = null)
    {
        _proc = proc ?? ProcFs.Default;
        _pids = [.. pids ?? []];
        _comms = new HashSet<string>(comms ?? [], StringComparer.Ordinal);
    }

    /// <summary>The processes alive now that pass the filters, in pid order.</summary>
    public IReadOnlyList<ProcessIdentity> Discover()
    {
        // With an explicit pid list there is no need to walk all of /proc.
        IEnumerable<int> candidates = _pids.Count > 0 ? _pids : _proc.ListPids();
        var found = new List<ProcessIdentity>();
        foreach (int pid in candidates.Order())
        {
            if (_proc.ReadStat(pid) is not { } stat || stat.IsKernelThread || stat.HasExited)
            {
                continue;
            }
            if (_comms.Count > 0 && !_comms.Contains(stat.Comm))
            {
                continue;
            }
            string? cgroup = _proc.ReadCgroup(pid);
            found.Add(new ProcessIdentity(pid, stat.Comm, stat.StartTime, cgroup is null ? null : ContainerIds.FromCgroupFile(cgroup)));
        }
        return found;
    }
}
