namespace SafeHaven.Probes.Perf;

/// <summary>How <see cref="ProcessCounters"/> counts threads created after its fds were opened.</summary>
internal enum ThreadCoverage
{
    /// <summary>inherit + inherit_thread (Linux 5.13+): the kernel counts a new thread into its creator's fd.</summary>
    InheritThread,

    /// <summary>
    /// No inheritance (kernels before 5.13): each thread gets an fd of its own when a read finds
    /// it, closed once it exits. A thread that starts and ends between two reads is missed, and
    /// one is counted only from the read that found it.
    /// </summary>
    PerThreadFds,
}

// Opening the per-thread fds: which threads need one, and what a refusal means.
public sealed partial class ProcessCounters
{
    private static readonly Lazy<ThreadCoverage> Kernel = new(ProbeKernel);

    /// <summary>What this kernel supports: <see cref="ThreadCoverage.InheritThread"/> unless it rejects the flag.</summary>
    internal static ThreadCoverage KernelCoverage => Kernel.Value;

    private static ThreadCoverage ProbeKernel()
    {
        // A disabled software counter on the calling thread: opening it tells whether the kernel
        // knows inherit_thread (an unknown attr bit is EINVAL) and costs nothing. Any other
        // refusal says nothing about the flag; the real opens then report it per counter.
        var probe = new PerfEventSpec("task-clock", CounterSource.Software, PerfNative.TypeSoftware, 1 /* PERF_COUNT_SW_TASK_CLOCK */);
        int fd = PerfNative.Open(probe, 0, inheritThreads: true, enabled: false);
        if (fd >= 0)
        {
            _ = PerfNative.Close(fd);
        }
        return fd == -Errno.EINVAL ? ThreadCoverage.PerThreadFds : ThreadCoverage.InheritThread;
    }

    private void AttachNewThreads(int[] tasks, bool all)
    {
        bool perThread = _coverage == ThreadCoverage.PerThreadFds;
        foreach (int tid in tasks)
        {
            if (_knownTids.Contains(tid))
            {
                continue;
            }
            // Without inheritance every thread needs its own fd. With it, inherit_thread covers
            // threads a counted thread creates after its fd was opened; another fd would count them
            // twice. Only a thread created while the first pass was attaching can have escaped (its
            // creator had no fd yet). Tids are allocated in increasing order, so a tid above the
            // kernel's last pid at the end of that pass is newer; the start tick guards against pid
            // wrap-around.
            bool attach = all || perThread
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
        var live = new HashSet<int>(tasks);
        if (perThread)
        {
            CloseExited(live);
        }
        // Forget vanished threads without an fd so the set does not grow with thread churn.
        _knownTids.RemoveWhere(tid => !live.Contains(tid) && !_counters.Any(c => c.Fds.ContainsKey(tid)));
    }

    /// <summary>
    /// Per-thread fds of exited threads: nothing inherits them, so they are closed rather than
    /// kept (fds would grow with thread churn), their last events carried into the next read.
    /// </summary>
    private void CloseExited(HashSet<int> live)
    {
        foreach (var c in _counters)
        {
            foreach (int tid in c.Fds.Keys.Where(t => !live.Contains(t)).ToList())
            {
                c.Carry += ReadDelta(c.Fds[tid]);
                _ = PerfNative.Close(c.Fds[tid].Fd);
                c.Fds.Remove(tid);
            }
        }
    }

    private void OpenOn(Counter c, int tid, bool enabled)
    {
        int fd = PerfNative.Open(c.Spec, tid, inheritThreads: _coverage == ThreadCoverage.InheritThread, enabled,
            c.Sampling ? DisarmedPeriod : 0);
        if (fd < 0 && c.Sampling && -fd != Errno.ESRCH)
        {
            // A kernel that refuses the sampling event may still count it: counted, never armed (Arm refuses a
            // counter that is not sampling), so early publication leaves this process to the fine tick.
            c.Sampling = false;
            fd = PerfNative.Open(c.Spec, tid, inheritThreads: _coverage == ThreadCoverage.InheritThread, enabled);
        }
        if (fd >= 0)
        {
            c.Fds[tid] = new ThreadFd(fd);
            return;
        }
        if (-fd == Errno.ESRCH)
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
        string e = Errno.Name(errno);
        return errno switch
        {
            Errno.ENOENT or Errno.EOPNOTSUPP or Errno.ENODEV when spec.NeedsPmu =>
                $"unsupported: hardware event not supported by this CPU/PMU ({e})",
            Errno.ENOENT or Errno.EOPNOTSUPP or Errno.ENODEV =>
                $"unsupported: {spec.Source.ToString().ToLowerInvariant()} event not supported by this kernel ({e})",
            Errno.EACCES or Errno.EPERM =>
                $"denied: perf_event_open not permitted ({e}; needs root/CAP_PERFMON or a lower kernel.perf_event_paranoid)",
            Errno.EMFILE => $"error: out of file descriptors ({e})",
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
