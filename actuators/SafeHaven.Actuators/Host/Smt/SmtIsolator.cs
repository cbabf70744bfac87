using System.Diagnostics;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host.Cpu;

namespace SafeHaven.Actuators.Host.Smt;

/// <summary>
/// The SMT level: each suspect group gets a core-scheduling cookie of its own, shared by its members, so none of them ever
/// runs on a physical core while a task of another cookie (another tenant) runs on its sibling. The first member's cookie is
/// the group's; release clears a member's cookie. Not thread-safe: the host actuator calls it under its lock.
/// </summary>
/// <param name="cookies">Reads threads' cookies (the kernel's prctl when null; tests inject their own).</param>
public sealed class SmtIsolator(ICookieReader? cookies = null)
{
    private readonly ICookieReader _cookies = cookies ?? PrctlCookieReader.Instance;

    // group -> its members; any live member with a cookie carries the group's.
    private readonly Dictionary<string, HashSet<int>> _groups = new(StringComparer.Ordinal);

    /// <summary>Gives every thread of <paramref name="pid"/> its group's cookie and verifies every thread has it.</summary>
    public CoreMoveOutcome Isolate(int pid, string group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var phases = new Dictionary<string, long>();
        var start = Stopwatch.GetTimestamp();
        try
        {
            var members = _groups.TryGetValue(group, out var m) ? m : _groups[group] = [];
            members.RemoveWhere(p => p != pid && (!ProcFs.Default.IsLive(p) || _cookies.Cookie(p, out var c) != 0 || c == 0));
            var leader = members.FirstOrDefault(p => p != pid);
            if (leader == 0)
            {
                SchedCore.CreateFor(pid);
            }
            else
            {
                SchedCore.Join(pid, leader);
            }
            phases["prctl"] = Results.StopwatchElapsedNs(start);
            members.Add(pid);
            start = Stopwatch.GetTimestamp();
            var error = Verify(pid, leader == 0 ? null : SchedCore.CookieOf(leader));
            phases["verify"] = Results.StopwatchElapsedNs(start);
            return new CoreMoveOutcome(error is null, null, error, phases);
        }
        catch (SchedCoreException e)
        {
            phases["prctl"] = Results.StopwatchElapsedNs(start);
            return new CoreMoveOutcome(false, null, e.Message, phases);
        }
    }

    /// <summary>Clears the cookie of every thread of <paramref name="pid"/>.</summary>
    public CoreMoveOutcome Release(int pid, string? group)
    {
        var phases = new Dictionary<string, long>();
        var start = Stopwatch.GetTimestamp();
        try
        {
            SchedCore.Clear(pid);
            if (group is not null && _groups.TryGetValue(group, out var members) && members.Remove(pid) && members.Count == 0)
            {
                _groups.Remove(group);
            }
            phases["prctl"] = Results.StopwatchElapsedNs(start);
            return new CoreMoveOutcome(true, null, null, phases);
        }
        catch (SchedCoreException e)
        {
            phases["prctl"] = Results.StopwatchElapsedNs(start);
            return new CoreMoveOutcome(false, null, e.Message, phases);
        }
    }

    /// <summary>
    /// Reads the cookie of every thread of <paramref name="pid"/> (after an agent restart): an isolation holds when they all
    /// share one non-zero cookie (which group's is not known: the agent kept that in memory), a release when none has one.
    /// </summary>
    /// <exception cref="ProcessGoneException">The process does not exist.</exception>
    public LevelReading Read(int pid, bool isolated)
    {
        ulong? seen = null;
        var threads = 0;
        foreach (var tid in ProcFs.Default.ThreadIds(pid))
        {
            var errno = _cookies.Cookie(tid, out var cookie);
            if (errno == Errno.ESRCH)
            {
                continue;
            }
            var wrong = errno != 0 ? $"thread {tid} of pid {pid}: prctl(PR_SCHED_CORE, GET) = {Errno.Name(errno)}"
                : !isolated && cookie != 0 ? $"thread {tid} of pid {pid} still has core-scheduling cookie {cookie:x}"
                : isolated && cookie == 0 ? $"thread {tid} of pid {pid} has no core-scheduling cookie"
                : isolated && seen is { } s && s != cookie ? $"thread {tid} of pid {pid} has cookie {cookie:x}, its other threads {s:x}"
                : null;
            if (wrong is not null)
            {
                return new LevelReading(false, wrong);
            }
            threads++;
            seen = cookie;
        }
        return threads == 0 ? throw new ProcessGoneException(pid)
            : new LevelReading(true, isolated
                ? $"all {threads} threads of pid {pid} share core-scheduling cookie {seen:x}"
                : $"none of the {threads} threads of pid {pid} has a core-scheduling cookie");
    }

    // Every thread has a cookie, the same one, and the group's when it joined one.
    private string? Verify(int pid, ulong? expected)
    {
        ulong? seen = expected;
        foreach (var tid in ProcFs.Default.ThreadIds(pid))
        {
            var errno = _cookies.Cookie(tid, out var cookie);
            if (errno == Errno.ESRCH)
            {
                continue;
            }
            if (errno != 0 || cookie == 0 || (seen is { } s && s != cookie))
            {
                return errno != 0 ? $"thread {tid}: prctl(PR_SCHED_CORE, GET) = {Errno.Name(errno)}" : $"thread {tid} has cookie {cookie:x}, not the group's {seen:x}";
            }
            seen = cookie;
        }
        return null;
    }
}
