using System.Diagnostics;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Host;

/// <summary>
/// Moves a process onto CPUs at core level: its own cpuset (enrolled once, up front, because
/// joining a cpuset costs an RCU grace period), then a <c>cpuset.cpus</c> rewrite that moves every
/// thread, <c>sched_setaffinity</c> on every TID so no thread keeps a wider mask, and a check
/// of every thread's <c>Cpus_allowed_list</c>.
/// </summary>
/// <param name="cpusets">The cpuset hierarchy of this host.</param>
public sealed class CoreIsolator(ICpusetController cpusets)
{
    private readonly ICpusetController _cpusets = cpusets ?? throw new ArgumentNullException(nameof(cpusets));

    /// <summary>Called after each phase with its name; lets tests act in the middle of a move.</summary>
    internal Action<string>? AfterPhase { get; set; }

    /// <summary>The cpuset hierarchy in use.</summary>
    public ICpusetController Cpusets => _cpusets;

    /// <summary>Moves every thread of <paramref name="pid"/> onto <paramref name="target"/> (an exclusive slot).</summary>
    public CoreMoveOutcome Isolate(int pid, CpuList target) => Move(pid, target, exclusive: true);

    /// <summary>Returns <paramref name="pid"/> to the <paramref name="shared"/> CPUs.</summary>
    public CoreMoveOutcome Release(int pid, CpuList shared) => Move(pid, shared, exclusive: false);

    /// <summary>
    /// Puts a monitored workload on the <paramref name="shared"/> (non-pool) CPUs, so it stays off the isolation pool and a later
    /// isolation is a cheap rewrite; a workload already isolated is left where it is (see the overload with the pool). The pool
    /// is taken as every online CPU outside <paramref name="shared"/>, which is how <see cref="HostActuator"/> derives the shared CPUs.
    /// </summary>
    public CoreMoveOutcome Enrol(int pid, CpuList shared)
    {
        ArgumentNullException.ThrowIfNull(shared);
        return Enrol(pid, shared, OnlineCpus.Read().Except(shared));
    }

    /// <summary>
    /// Puts a monitored workload on the <paramref name="shared"/> CPUs, unless it is isolated already: when its own cpuset's
    /// CPUs, or every thread's allowed CPUs, lie inside <paramref name="pool"/>, it stays there and the outcome has
    /// <see cref="CoreMoveOutcome.AlreadyIsolated"/> set, with those CPUs. A restarted actuator enrols its workloads again,
    /// and moving an isolated one back to the shared CPUs would reopen the channel it was isolated for.
    /// </summary>
    public CoreMoveOutcome Enrol(int pid, CpuList shared, CpuList pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return Move(pid, shared, exclusive: false, keepWithin: pool.IsEmpty ? null : pool);
    }

    private CoreMoveOutcome Move(int pid, CpuList cpus, bool exclusive, CpuList? keepWithin = null)
    {
        Identifiers.RequirePid(pid, nameof(pid));
        ArgumentNullException.ThrowIfNull(cpus);
        var phases = new Dictionary<string, long>();
        if (cpus.IsEmpty)
        {
            return new CoreMoveOutcome(false, null, "empty CPU list", phases);
        }
        if (!ProcFs.Default.Exists(pid))
        {
            return new CoreMoveOutcome(false, null, $"process {pid} not found", phases);
        }
        try
        {
            CpuList? isolated = null;
            if (keepWithin is not null)
            {
                Phase(phases, "check", () => isolated = IsolatedOn(pid, keepWithin));
            }
            if (isolated is not null)
            {
                return new CoreMoveOutcome(true, isolated, null, phases) { AlreadyIsolated = true };
            }
            if (!_cpusets.IsEnrolled(pid))
            {
                // Straight onto the destination: the rewrite below is then a no-op.
                Phase(phases, "enrol", () => _cpusets.Enrol(pid, cpus));
            }
            Phase(phases, "cpuset", () => _cpusets.SetCpus(pid, cpus, exclusive));
            AllThreadsResult affinity = default;
            Phase(phases, "affinity", () => affinity = Affinity.SetAllThreads(pid, cpus));
            ThreadCheck? check = null;
            Phase(phases, "verify", () => check = ThreadVerifier.Verify(pid, cpus));
            // A process that kept starting threads through every affinity pass is named as such: its escaped thread is
            // no kernel refusal but a race the agent stopped chasing (Affinity.MaxPasses).
            var churn = affinity.Settled ? "" : $"; process {pid} kept starting threads through {affinity.Passes} affinity passes";
            return check is { Ok: true }
                ? new CoreMoveOutcome(true, cpus, null, phases)
                : new CoreMoveOutcome(false, check?.Actual, $"thread {check?.Tid} of process {pid} is allowed on cpus {check?.Actual}, not {cpus}{churn}", phases);
        }
        catch (Exception e) when (e is ProcessGoneException || (e is InvalidOperationException or IOException && !ProcFs.Default.Exists(pid)))
        {
            // The process vanished between two steps; its now-empty cpuset is dropped.
            TryRemove(pid);
            return new CoreMoveOutcome(false, null, $"process {pid} exited during the move", phases);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return new CoreMoveOutcome(false, null, e.Message, phases);
        }
    }

    // The CPUs pid is confined to when they all lie in the pool: its own cpuset's, else the union of its threads' allowed CPUs
    // (an isolation by affinity alone, or by a cpuset that is not ours); null when any of it reaches outside the pool.
    private CpuList? IsolatedOn(int pid, CpuList pool)
    {
        if (_cpusets.ReadCpus(pid) is { IsEmpty: false } own && own.IsSubsetOf(pool))
        {
            return own;
        }
        var union = new SortedSet<int>();
        foreach (var tid in ProcFs.Default.ThreadIds(pid))
        {
            // A thread that exited meanwhile (null) runs nowhere: it neither confirms nor refutes.
            if (ProcFs.Default.ThreadCpusAllowed(pid, tid) is { } allowed)
            {
                if (!allowed.IsSubsetOf(pool))
                {
                    return null;
                }
                union.UnionWith(allowed.Cpus);
            }
        }
        return union.Count > 0 ? CpuList.Of(union) : throw new ProcessGoneException(pid);
    }

    private void Phase(Dictionary<string, long> phases, string name, Action action)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            action();
        }
        finally
        {
            // Stopwatch ticks are ns on Linux; scale anyway so other clocks stay right.
            phases[name] = (long)((Stopwatch.GetTimestamp() - start) * (1e9 / Stopwatch.Frequency));
        }
        AfterPhase?.Invoke(name);
    }

    private void TryRemove(int pid)
    {
        try
        {
            _cpusets.Remove(pid);
        }
        catch (IOException)
        {
            // Best effort: a later Enrol or Cleanup drops stale cpusets too.
        }
    }
}
