namespace SafeHaven.Probes.Proc;

/// <summary>
/// Enumerates the processes to watch: every user process by default (kernel threads and
/// zombies skipped), optionally narrowed by a <see cref="DiscoveryFilter"/>; maps each to its
/// container, systemd unit and, for QEMU processes, its VM.
/// </summary>
public sealed class ProcessDiscovery
{
    // QEMU command lines from libvirt run to several KiB; nothing useful lies beyond this.
    private const int MaxCmdline = 256 * 1024;

    private readonly ProcFs _proc;
    private readonly DiscoveryFilter _filter;
    // A command line changes only at exec, which also changes comm: reading it once per
    // (pid, start time, comm) keeps a rediscovery every period cheap.
    private Dictionary<(int, long, string), QemuGuest?> _guests = [];
    // Most processes share a handful of cgroup files: parsing each distinct text once per round
    // instead of running the container regexes on every process halves the cost of a round.
    private Dictionary<string, CgroupFacts> _cgroups = new(StringComparer.Ordinal);
    private IReadOnlyList<DiscoveredProcess> _last = [];

    /// <summary>Creates a discovery; empty <paramref name="pids"/> or <paramref name="comms"/> means "no filter".</summary>
    public ProcessDiscovery(IEnumerable<int>? pids = null, IEnumerable<string>? comms = null, ProcFs? proc = null)
        : this(new DiscoveryFilter { Pids = (pids ?? []).ToHashSet(), Comms = (comms ?? []).ToHashSet(StringComparer.Ordinal) }, proc)
    {
    }

    /// <summary>Creates a discovery with <paramref name="filter"/>, reading <paramref name="proc"/> (the real /proc by default).</summary>
    public ProcessDiscovery(DiscoveryFilter filter, ProcFs? proc = null)
    {
        _filter = filter ?? throw new ArgumentNullException(nameof(filter));
        _proc = proc ?? ProcFs.Default;
    }

    /// <summary>The result of the latest <see cref="Discover"/> or <see cref="DiscoverDetailed"/>; safe to read from any thread.</summary>
    public IReadOnlyList<DiscoveredProcess> Last => Volatile.Read(ref _last);

    /// <summary>The processes alive now that pass the filters, in pid order.</summary>
    /// <param name="fresh">Stat lines the caller read moments ago (this tick), by pid: not read again.</param>
    public IReadOnlyList<ProcessIdentity> Discover(IReadOnlyDictionary<int, ProcStat>? fresh = null) =>
        [.. DiscoverDetailed(fresh).Select(p => p.Identity)];

    /// <summary>The processes alive now that pass the filters, in pid order, with where they live.</summary>
    /// <param name="fresh">
    /// Stat lines the caller read moments ago (the sampler's reads of this tick), by pid: used instead of
    /// reading /proc/PID/stat a second time. A process's stat read a few milliseconds earlier tells what a
    /// read now would (gone, zombie, comm, start time) up to the same race every read has.
    /// </param>
    public IReadOnlyList<DiscoveredProcess> DiscoverDetailed(IReadOnlyDictionary<int, ProcStat>? fresh = null)
    {
        // With an explicit pid list there is no need to walk all of /proc.
        IEnumerable<int> candidates = _filter.Pids.Count > 0 ? _filter.Pids : _proc.ListPids();
        var found = new List<DiscoveredProcess>();
        var guests = new Dictionary<(int, long, string), QemuGuest?>();
        var cgroups = new Dictionary<string, CgroupFacts>(StringComparer.Ordinal);
        foreach (int pid in candidates.Order())
        {
            // Cheapest checks first: stat gives kernel thread, zombie and comm.
            ProcStat? read = fresh is not null && fresh.TryGetValue(pid, out var known) ? known : _proc.ReadStat(pid);
            if (read is not { } stat || stat.IsKernelThread || stat.HasExited || !_filter.MatchesComm(stat.Comm))
            {
                continue;
            }
            var cg = Cgroup(_proc.ReadCgroup(pid) ?? "", cgroups);
            if (!_filter.MatchesCgroup(cg.Paths, cg.Container))
            {
                continue;
            }
            if (_filter.NeedsUid && !_filter.MatchesUid(StatusFields.RealUid(_proc.ReadStatus(pid))))
            {
                continue;
            }
            var key = (pid, stat.StartTime, stat.Comm);
            if (!_guests.TryGetValue(key, out var guest))
            {
                guest = ReadGuest(pid, out bool settled);
                if (settled)
                {
                    guests[key] = guest;
                }
            }
            else
            {
                guests[key] = guest;
            }
            var identity = new ProcessIdentity(pid, stat.Comm, stat.StartTime, cg.Container) { Vm = guest?.Name };
            found.Add(new DiscoveredProcess(identity, cg.Primary, cg.Unit, guest));
        }
        _guests = guests;
        _cgroups = cgroups;
        Volatile.Write(ref _last, found);
        return found;
    }

    private CgroupFacts Cgroup(string text, Dictionary<string, CgroupFacts> seen)
    {
        if (!seen.TryGetValue(text, out var facts))
        {
            if (!_cgroups.TryGetValue(text, out facts))
            {
                string? primary = ContainerIds.PrimaryPath(text);
                facts = new CgroupFacts(ContainerIds.Paths(text), ContainerIds.FromCgroupFile(text), primary, ContainerIds.SystemdUnit(primary));
            }
            seen[text] = facts;
        }
        return facts;
    }

    private sealed record CgroupFacts(IReadOnlyList<string> Paths, string? Container, string? Primary, string? Unit);

    // Unsettled: the kernel already shows the new exe and comm of an exec in progress, but not yet
    // its argv (cmdline reads empty); caching that answer would hide a VM for the process's lifetime.
    private QemuGuest? ReadGuest(int pid, out bool settled)
    {
        settled = true;
        string dir = Path.Combine(_proc.Root, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string path = Path.Combine(dir, "cmdline");
        try
        {
            // argv is the process's to write: anyone could claim "qemu-system-x86_64 -name victim"
            // and have the planner migrate the victim's VM. The exe link is the kernel's word.
            string? exe = new FileInfo(Path.Combine(dir, "exe")).LinkTarget;
            if (exe is null || !QemuCommandLine.IsQemu([exe.EndsWith(" (deleted)", StringComparison.Ordinal) ? exe[..^10] : exe]))
            {
                return null;
            }
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1);
            byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(MaxCmdline);
            try
            {
                int total = 0, n;
                while (total < MaxCmdline && (n = file.Read(buffer, total, MaxCmdline - total)) > 0)
                {
                    total += n;
                }
                settled = total > 0;
                return QemuCommandLine.Parse(QemuCommandLine.SplitArgs(buffer.AsSpan(0, total)));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone meanwhile, or hidden from us (hidepid): not recognisable, not an error.
            return null;
        }
    }
}
