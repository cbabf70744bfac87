namespace SafeHaven.Probes.Perf;

// Opening the per-thread fds: which threads need one, and what a refusal means.
public sealed partial class ProcessCounters
{
    private void AttachNewThreads(int[] tasks, bool all)
    {
        foreach (int tid in tasks)
        {
            if (_knownTids.Contains(tid))
            {
                continue;
            }
            // inherit=1 covers threads a counted thread creates after its fd was opened; another fd
            // would count them twice. Only a thread created while the first pass was attaching can
            // have escaped (its creator had no fd yet). Tids are allocated in increasing order, so a
            // tid above the kernel's last pid at the end of that pass is newer; the start tick guards
            // against pid wrap-around.
            bool attach = all
                || (tid <= _lastPidAtAttach && _proc.ReadTaskStat(Pid, tid) is { } ts && ts.StartTime <= _lastAttachTick);
            _knownTids.Add(tid);
            if (!attach)
            {
                continue;
            }
            foreach (var c in _counters)
            {
                if (c.Status == StatusOk)
                {
                    OpenOn(c, tid, IsCounting);
                }
            }
        }
        if (all)
        {
            _lastPidAtAttach = _proc.ReadLastPid() ?? int.MaxValue;
            _lastAttachTick = PerfNative.BootTimeNs() / _tickNs;
        }
        // Forget vanished threads without an fd so the set does not grow with thread churn.
        var live = new HashSet<int>(tasks);
        _knownTids.RemoveWhere(tid => !live.Contains(tid) && !_counters.Any(c => c.Fds.ContainsKey(tid)));
    }

    private static void OpenOn(Counter c, int tid, bool enabled)
    {
        int fd = PerfNative.Open(c.Spec, tid, inherit: true, enabled);
        if (fd >= 0)
        {
            c.Fds[tid] = new ThreadFd(fd);
            return;
        }
        if (-fd == PerfNative.ESRCH)
        {
            return; // the thread exited meanwhile
        }
        // Partial coverage would under-count silently: the counter is all or nothing.
        c.Status = DescribeOpenError(c.Spec, -fd);
        CloseAll(c);
    }

    /// <summary>Status text for a perf_event_open failure of <paramref name="spec"/> with <paramref name="errno"/>.</summary>
    public static string DescribeOpenError(PerfEventSpec spec, int errno)
    {
        string e = PerfNative.ErrnoName(errno);
        return errno switch
        {
            PerfNative.ENOENT or PerfNative.EOPNOTSUPP or PerfNative.ENODEV when spec.NeedsPmu =>
                $"unsupported: hardware event not supported by this CPU/PMU ({e})",
            PerfNative.ENOENT or PerfNative.EOPNOTSUPP or PerfNative.ENODEV =>
                $"unsupported: {spec.Source.ToString().ToLowerInvariant()} event not supported by this kernel ({e})",
            PerfNative.EACCES or PerfNative.EPERM =>
                $"denied: perf_event_open not permitted ({e}; needs root/CAP_PERFMON or a lower kernel.perf_event_paranoid)",
            PerfNative.EMFILE => $"error: out of file descriptors ({e})",
            _ => $"error: perf_event_open failed ({e})",
        };
    }

    private static void CloseAll(Counter c)
    {
        foreach (var t in c.Fds.Values)
        {
            _ = PerfNative.Close(t.Fd);
        }
        c.Fds.Clear();
    }
}
