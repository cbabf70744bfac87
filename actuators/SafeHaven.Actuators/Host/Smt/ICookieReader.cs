namespace SafeHaven.Actuators.Host.Smt;

/// <summary>Reads a thread's core-scheduling cookie; the seam that lets the SMT level's decisions be tested where the kernel lacks core scheduling.</summary>
public interface ICookieReader
{
    /// <summary>The errno of <c>prctl(PR_SCHED_CORE, GET)</c> on thread <paramref name="tid"/> (0 on success) and its cookie (0: none).</summary>
    int Cookie(int tid, out ulong cookie);
}

/// <summary>The kernel's answer, through <see cref="SchedCore.Cookie"/>.</summary>
public sealed class PrctlCookieReader : ICookieReader
{
    /// <summary>The one instance.</summary>
    public static PrctlCookieReader Instance { get; } = new();

    private PrctlCookieReader()
    {
    }

    /// <inheritdoc/>
    public int Cookie(int tid, out ulong cookie) => SchedCore.Cookie(tid, out cookie);
}
