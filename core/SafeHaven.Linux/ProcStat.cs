using System.Globalization;

namespace SafeHaven.Linux;

/// <summary>The fields of <c>/proc/PID/stat</c> the probe uses.</summary>
/// <param name="Pid">Field 1.</param>
/// <param name="Comm">Field 2 without the parentheses; may itself contain spaces and ')'.</param>
/// <param name="State">Field 3 (R, S, D, Z, X, ...).</param>
/// <param name="Flags">Field 9, the kernel's PF_* flags.</param>
/// <param name="MinFlt">Field 10, minor faults.</param>
/// <param name="MajFlt">Field 12, major faults.</param>
/// <param name="UTime">Field 14, user time in clock ticks.</param>
/// <param name="STime">Field 15, system time in clock ticks.</param>
/// <param name="StartTime">Field 22, start time in clock ticks since boot.</param>
/// <param name="Pgrp">Field 5, the process group id: a shell job and the children it forked share it.</param>
public readonly record struct ProcStat(int Pid, string Comm, char State, uint Flags, long MinFlt, long MajFlt, long UTime, long STime, long StartTime, int Pgrp)
{
    /// <summary>PF_KTHREAD: the task is a kernel thread.</summary>
    public const uint PfKthread = 0x00200000;

    /// <summary>True for kernel threads.</summary>
    public bool IsKernelThread => (Flags & PfKthread) != 0;

    /// <summary>Field 20, the number of threads (0 when the line had none).</summary>
    public int Threads { get; init; }

    /// <summary>True once the process has exited (zombie or dead).</summary>
    public bool HasExited => State is 'Z' or 'X' or 'x';

    /// <summary>Parses one stat line; false when it is malformed.</summary>
    public static bool TryParse(string text, out ProcStat stat)
    {
        stat = default;
        // comm is whatever the process put there (prctl PR_SET_NAME), ')' and spaces included,
        // but everything after it is numeric: the last ')' is the only reliable delimiter.
        int open = text.IndexOf('(', StringComparison.Ordinal);
        int close = text.LastIndexOf(')');
        if (open < 1 || close < open)
        {
            return false;
        }
        if (!int.TryParse(text.AsSpan(0, open).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            return false;
        }
        string comm = text[(open + 1)..close];
        string[] f = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // f[0] is field 3; field N is f[N - 3]. Field 22 (start time) must be present.
        if (f.Length < 20 || f[0].Length != 1
            || !int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int pgrp)
            || !uint.TryParse(f[6], NumberStyles.None, CultureInfo.InvariantCulture, out uint flags)
            || !TryLong(f[7], out long minflt) || !TryLong(f[9], out long majflt)
            || !TryLong(f[11], out long utime) || !TryLong(f[12], out long stime)
            || !TryLong(f[19], out long start))
        {
            return false;
        }
        stat = new ProcStat(pid, comm, f[0][0], flags, minflt, majflt, utime, stime, start, pgrp)
        {
            Threads = int.TryParse(f[17], NumberStyles.None, CultureInfo.InvariantCulture, out int threads) ? threads : 0,
        };
        return true;
    }

    /// <summary>
    /// Parses one stat line from its bytes, as <see cref="TryParse(string, out ProcStat)"/> does from text:
    /// the probe reads every process's stat every period, and this allocates only the comm string.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out ProcStat stat)
    {
        stat = default;
        int open = line.IndexOf((byte)'(');
        int close = line.LastIndexOf((byte)')');
        if (open < 1 || close < open
            || !int.TryParse(line[System.Text.Ascii.Trim(line[..open])], NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
        {
            return false;
        }
        // Fields 3..22 after the comm: f[0] is field 3, field N is f[N - 3] (split on ' ' as the text parser does).
        Span<Range> f = stackalloc Range[20];
        var rest = line[(close + 1)..];
        int count = 0;
        foreach (var range in rest.Split((byte)' '))
        {
            if (range.Start.Value == range.End.Value)
            {
                continue; // empty entries, as StringSplitOptions.RemoveEmptyEntries
            }
            f[count++] = range;
            if (count == f.Length)
            {
                break;
            }
        }
        if (count < 20 || rest[f[0]].Length != 1
            || !int.TryParse(rest[f[2]], NumberStyles.None, CultureInfo.InvariantCulture, out int pgrp)
            || !uint.TryParse(rest[f[6]], NumberStyles.None, CultureInfo.InvariantCulture, out uint flags)
            || !TryLong(rest[f[7]], out long minflt) || !TryLong(rest[f[9]], out long majflt)
            || !TryLong(rest[f[11]], out long utime) || !TryLong(rest[f[12]], out long stime)
            || !TryLong(rest[f[19]], out long start))
        {
            return false;
        }
        string comm = System.Text.Encoding.UTF8.GetString(line[(open + 1)..close]);
        stat = new ProcStat(pid, comm, (char)rest[f[0]][0], flags, minflt, majflt, utime, stime, start, pgrp)
        {
            Threads = int.TryParse(rest[f[17]], NumberStyles.None, CultureInfo.InvariantCulture, out int threads) ? threads : 0,
        };
        return true;
    }

    private static bool TryLong(ReadOnlySpan<byte> s, out long value) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    private static bool TryLong(string s, out long value) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
