using SafeHaven.Schemas;

namespace SafeHaven.Core.Bounds;

/// <summary>The field checks <see cref="RecordBounds"/> composes.</summary>
public sealed partial record RecordBounds
{
    private string? Entity(EntityRef? e, string what)
    {
        if (e is null)
        {
            return $"{what} is missing";
        }
        if (e.pid is { } pid && pid is < 1 or > MaxPid)
        {
            return $"{what}.pid {pid} is outside 1..{MaxPid}";
        }
        if (e.startTime is < 0)
        {
            return $"{what}.startTime {e.startTime} is negative";
        }
        return Name(e.datacenter, what + ".datacenter") ?? Name(e.host, what + ".host") ?? OptionalName(e.vm, what + ".vm")
            ?? OptionalName(e.container, what + ".container") ?? OptionalName(e.comm, what + ".comm");
    }

    private string? Map<T>(IDictionary<string, T>? map, string what, Func<T, string?> value)
    {
        if (map is null)
        {
            return $"{what} is missing";
        }
        if (map.Count > MaxMapEntries)
        {
            return $"{what} has {map.Count} entries, more than {MaxMapEntries}";
        }
        foreach (var (k, v) in map)
        {
            if (Name(k, $"a key of {what}") is { } bad)
            {
                return bad;
            }
            if (value(v) is { } problem)
            {
                return $"{what}['{Cut(k)}'] has {problem}";
            }
        }
        return null;
    }

    private string? List(IList<string>? items, string what, Func<string, string?> item)
    {
        if (items is null)
        {
            return $"{what} is missing";
        }
        return items.Count > MaxListItems ? $"{what} has {items.Count} items, more than {MaxListItems}"
            : items.Select(i => item(i) is { } p ? $"{what}: {p}" : null).FirstOrDefault(p => p is not null);
    }

    private string? Time(long ns, string what, long nowNs, bool past)
    {
        var ahead = MaxAhead is { } a ? nowNs + (long)(a.Ticks * 100L) : long.MaxValue;
        if (ns > ahead)
        {
            return $"{what} {ns} is {(ns - nowNs) / 1_000_000_000L} s ahead of now, more than {MaxAhead}";
        }
        if (past && MaxAge is { } age && ns < nowNs - age.Ticks * 100L)
        {
            return $"{what} {ns} is {(nowNs - ns) / 1_000_000_000L} s old, more than {MaxAge}";
        }
        return null;
    }

    private static string? Finite(double v, string what) => double.IsFinite(v) ? null : $"{what} is {v}";

    private string? Id(string? s, string what) => Length(s, what, MaxIdLength, optional: false);

    private string? OptionalId(string? s, string what) => Length(s, what, MaxIdLength, optional: true);

    private string? Name(string? s, string what) => Length(s, what, MaxNameLength, optional: false);

    private string? OptionalName(string? s, string what) => Length(s, what, MaxNameLength, optional: true);

    private string? Text(string? s, string what) => Length(s, what, MaxTextLength, optional: false);

    private string? OptionalText(string? s, string what) => Length(s, what, MaxTextLength, optional: true);

    private static string? Length(string? s, string what, int max, bool optional) =>
        s is null ? (optional ? null : $"{what} is missing")
        : s.Length > max ? $"{what} has {s.Length} characters, more than {max}"
        : null;

    // Keys quoted in a reason are cut: the reason itself must stay small.
    private static string Cut(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
