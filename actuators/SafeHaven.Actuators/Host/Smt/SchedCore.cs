using System.Globalization;
using System.Runtime.InteropServices;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Smt;

/// <summary>
/// Linux core scheduling (<c>prctl(PR_SCHED_CORE, …)</c>, Linux ≥ 5.14 with CONFIG_SCHED_CORE): tasks with a cookie run on a
/// physical core only beside tasks of the same cookie; the siblings idle otherwise. Each call reports the kernel's errno.
/// </summary>
public static partial class SchedCore
{
    private const int PrSchedCore = 62;
    private const nuint Get = 0, Create = 1, ShareTo = 2, ShareFrom = 3;
    // pid types of the scope argument: one thread, or its whole thread group.
    private const nuint PidTypePid = 0, PidTypeTgid = 1;

    /// <summary>Whether SMT is present and the kernel does core scheduling, with the exact evidence either way.</summary>
    /// <param name="sysCpu">The sysfs CPU directory (tests pass a copy).</param>
    public static LevelSupport Probe(string sysCpu = "/sys/devices/system/cpu")
    {
        var active = Path.Join(sysCpu, "smt", "active");
        if (File.Exists(active))
        {
            var value = File.ReadAllText(active).Trim();
            if (value != "1")
            {
                return new(Levels.Smt, false, $"no SMT: {active} = {value}");
            }
        }
        else if (MaxSiblings(sysCpu) is var (siblings, cpu) && siblings < 2)
        {
            return new(Levels.Smt, false, $"no SMT: {active} absent and every thread_siblings_list has one CPU (cpu{cpu}: {siblings})");
        }
        var errno = Cookie(0, out _);
        return errno switch
        {
            0 => new(Levels.Smt, true, $"SMT active and prctl(PR_SCHED_CORE, GET) works"),
            Errno.EINVAL => new(Levels.Smt, false, "kernel without core scheduling: prctl(PR_SCHED_CORE) = EINVAL (CONFIG_SCHED_CORE not set)"),
            Errno.ENODEV => new(Levels.Smt, false, "no SMT: prctl(PR_SCHED_CORE) = ENODEV"),
            _ => new(Levels.Smt, false, $"prctl(PR_SCHED_CORE, GET) = {Errno.Name(errno)}"),
        };
    }

    /// <summary>A new cookie for every thread of <paramref name="pid"/>.</summary>
    /// <exception cref="SchedCoreException">The kernel refused; the message names the errno.</exception>
    public static void CreateFor(int pid) => Require(Prctl(PrSchedCore, Create, Pid(pid), PidTypeTgid, 0), "CREATE", pid);

    /// <summary>Gives every thread of <paramref name="pid"/> the cookie of <paramref name="from"/> (the group's first member).</summary>
    public static void Join(int pid, int from) => OnFreshThread(() =>
    {
        Require(Prctl(PrSchedCore, ShareFrom, Pid(from), PidTypePid, 0), "SHARE_FROM", from);
        Require(Prctl(PrSchedCore, ShareTo, Pid(pid), PidTypeTgid, 0), "SHARE_TO", pid);
    });

    /// <summary>Takes the cookie off every thread of <paramref name="pid"/>: it runs beside any task again.</summary>
    // SHARE_TO from a thread that has no cookie clears the target's.
    public static void Clear(int pid) => OnFreshThread(() => Require(Prctl(PrSchedCore, ShareTo, Pid(pid), PidTypeTgid, 0), "SHARE_TO (clear)", pid));

    /// <summary>The errno of <c>PR_SCHED_CORE_GET</c> on thread <paramref name="tid"/> (0: this thread), 0 on success.</summary>
    public static int Cookie(int tid, out ulong cookie)
    {
        cookie = 0;
        return PrctlGet(PrSchedCore, Get, (nuint)Math.Max(0, tid), PidTypePid, out cookie) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The cookie of thread <paramref name="tid"/>; 0 for none.</summary>
    /// <exception cref="SchedCoreException">The kernel refused.</exception>
    public static ulong CookieOf(int tid)
    {
        var errno = Cookie(tid, out var cookie);
        return errno == 0 ? cookie : throw new SchedCoreException($"prctl(PR_SCHED_CORE, GET, {tid}) failed: {Errno.Name(errno)}", errno);
    }

    private static nuint Pid(int pid) => (nuint)Identifiers.RequirePid(pid, nameof(pid));

    private static void Require(int rc, string op, int pid)
    {
        if (rc != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new SchedCoreException(string.Create(CultureInfo.InvariantCulture, $"prctl(PR_SCHED_CORE, {op}, {pid}) failed: {Errno.Name(errno)}"), errno);
        }
    }

    // Sharing goes through the calling thread's own cookie: a thread of its own, which ends with it, leaves the agent's unchanged.
    private static void OnFreshThread(Action action)
    {
        Exception? failed = null;
        var t = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (SchedCoreException e)
            {
                failed = e;
            }
        }) { IsBackground = true, Name = "sched-core" };
        t.Start();
        t.Join();
        if (failed is not null)
        {
            throw failed;
        }
    }

    private static (int Siblings, int Cpu)? MaxSiblings(string sysCpu)
    {
        (int, int)? max = null;
        foreach (var dir in Directory.EnumerateDirectories(sysCpu, "cpu*"))
        {
            var file = Path.Join(dir, "topology", "thread_siblings_list");
            if (int.TryParse(Path.GetFileName(dir).AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var cpu) && File.Exists(file)
                && CpuList.TryParse(File.ReadAllText(file).Trim(), out var siblings, out _) && (max is null || siblings.Count > max.Value.Item1))
            {
                max = (siblings.Count, cpu);
            }
        }
        return max;
    }

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int PrctlGet(int option, nuint arg2, nuint arg3, nuint arg4, out ulong cookie);
}

/// <summary>A core-scheduling prctl failed; <see cref="Errno"/> is the kernel's errno.</summary>
public sealed class SchedCoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SchedCoreException() { }

    /// <summary>Creates the exception with a message.</summary>
    public SchedCoreException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error behind it.</summary>
    public SchedCoreException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with a message and the errno.</summary>
    public SchedCoreException(string message, int errno) : base(message) => Errno = errno;

    /// <summary>The kernel's errno.</summary>
    public int Errno { get; }
}
