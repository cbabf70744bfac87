using System.Globalization;
using System.Text;

namespace SafeHaven.Core;

/// <summary>
/// A set of CPU numbers in the kernel's list syntax (<c>0-3,6,8-9</c>), as used by
/// <c>cpuset.cpus</c>, <c>/proc/PID/status</c> <c>Cpus_allowed_list</c> and <c>--isolation-cpus</c>.
/// Immutable; equality is set equality. Configuration binds it from that syntax (<see cref="CpuListConverter"/>).
/// </summary>
[System.ComponentModel.TypeConverter(typeof(CpuListConverter))]
public sealed class CpuList : IEquatable<CpuList>
{
    /// <summary>The highest CPU number accepted; the kernel's NR_CPUS limit is 8192.</summary>
    public const int MaxCpu = 8191;

    private readonly SortedSet<int> _cpus;

    private CpuList(SortedSet<int> cpus) => _cpus = cpus;

    /// <summary>The empty set.</summary>
    public static CpuList Empty { get; } = new([]);

    /// <summary>CPU numbers in ascending order.</summary>
    public IReadOnlyCollection<int> Cpus => _cpus;

    /// <summary>Number of CPUs in the set.</summary>
    public int Count => _cpus.Count;

    /// <summary>True when the set holds no CPU.</summary>
    public bool IsEmpty => _cpus.Count == 0;

    /// <summary>Builds a set from CPU numbers.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A number is negative or above <see cref="MaxCpu"/>.</exception>
    public static CpuList Of(IEnumerable<int> cpus)
    {
        var set = new SortedSet<int>();
        foreach (var cpu in cpus)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(cpu);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(cpu, MaxCpu);
            set.Add(cpu);
        }
        return new CpuList(set);
    }

    /// <summary>Parses the kernel list syntax; an empty or blank string is the empty set.</summary>
    /// <exception cref="FormatException">The text is not a CPU list; the message names the bad part.</exception>
    public static CpuList Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var list, out var error) ? list : throw new FormatException(error);
    }

    /// <summary>Parses the kernel list syntax without throwing.</summary>
    public static bool TryParse(string text, out CpuList list, out string error)
    {
        list = Empty;
        error = "";
        var set = new SortedSet<int>();
        foreach (var raw in text.Trim().Split(',', StringSplitOptions.None))
        {
            var part = raw.Trim();
            if (part.Length == 0)
            {
                if (text.Trim().Length == 0)
                {
                    break;
                }
                error = $"empty element in CPU list '{text}'";
                return false;
            }
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var lo = dash < 0 ? part : part[..dash];
            var hi = dash < 0 ? part : part[(dash + 1)..];
            if (!TryCpu(lo, out var a) || !TryCpu(hi, out var b) || b < a)
            {
                error = $"'{part}' is not a CPU or CPU range (expected N or N-M with 0 <= N <= M <= {MaxCpu}) in '{text}'";
                return false;
            }
            for (var cpu = a; cpu <= b; cpu++)
            {
                set.Add(cpu);
            }
        }
        list = new CpuList(set);
        return true;
    }

    private static bool TryCpu(string s, out int cpu) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out cpu) && cpu <= MaxCpu;

    /// <summary>True when <paramref name="cpu"/> is in the set.</summary>
    public bool Contains(int cpu) => _cpus.Contains(cpu);

    /// <summary>True when every CPU of this set is in <paramref name="other"/>.</summary>
    public bool IsSubsetOf(CpuList other) => _cpus.IsSubsetOf(other._cpus);

    /// <summary>True when the two sets share a CPU.</summary>
    public bool Overlaps(CpuList other) => _cpus.Overlaps(other._cpus);

    /// <summary>The CPUs in this set but not in <paramref name="other"/>.</summary>
    public CpuList Except(CpuList other) => new(new SortedSet<int>(_cpus.Except(other._cpus)));

    /// <summary>The CPUs in either set.</summary>
    public CpuList Union(CpuList other) => new(new SortedSet<int>(_cpus.Union(other._cpus)));

    /// <summary>Formats in the kernel list syntax, ranges collapsed (<c>0-3,6</c>).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        int? start = null, prev = null;
        foreach (var cpu in _cpus)
        {
            if (prev is { } p && cpu == p + 1)
            {
                prev = cpu;
                continue;
            }
            Flush(sb, start, prev);
            start = prev = cpu;
        }
        Flush(sb, start, prev);
        return sb.ToString();
    }

    private static void Flush(StringBuilder sb, int? start, int? end)
    {
        if (start is not { } s || end is not { } e)
        {
            return;
        }
        if (sb.Length > 0)
        {
            sb.Append(',');
        }
        sb.Append(s.ToString(CultureInfo.InvariantCulture));
        if (e != s)
        {
            sb.Append('-').Append(e.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <inheritdoc/>
    public bool Equals(CpuList? other) => other is not null && _cpus.SetEquals(other._cpus);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as CpuList);

    /// <inheritdoc/>
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}

/// <summary>Converts the kernel list syntax to a <see cref="CpuList"/>, so that configuration can bind one.</summary>
public sealed class CpuListConverter : System.ComponentModel.TypeConverter
{
    /// <inheritdoc/>
    public override bool CanConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, Type sourceType) =>
        sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    /// <inheritdoc/>
    public override object? ConvertFrom(System.ComponentModel.ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text ? CpuList.Parse(text) : base.ConvertFrom(context, culture, value);
}
