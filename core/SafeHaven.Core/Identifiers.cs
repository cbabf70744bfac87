using System.Text.RegularExpressions;

namespace SafeHaven.Core;

/// <summary>
/// Validation of every identifier that may reach a path, a cgroup file, a process argument or a
/// Kafka key. Allow-lists only: an identifier either matches or is rejected with the reason.
/// </summary>
public static partial class Identifiers
{
    /// <summary>Host, datacenter and actuator ids: a DNS-label-like token (letters, digits, '.', '_', '-'), not starting with '.' or '-'.</summary>
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,62}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Token();

    /// <summary>Container ids and VM names: as <see cref="Token"/>, up to 128 characters (docker ids are 64 hex digits).</summary>
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex LongToken();

    /// <summary>Command, detection and rule ids.</summary>
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._:-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Id();

    /// <summary>Throws when <paramref name="value"/> is not a valid host, datacenter or actuator id.</summary>
    /// <exception cref="ArgumentException">Names <paramref name="what"/> and the value.</exception>
    public static string RequireToken(string? value, string what) =>
        Require(value, what, Token(), "letters, digits, '.', '_' or '-', at most 63, not starting with '.' or '-'");

    /// <summary>Throws when <paramref name="value"/> is not a valid container id or VM name.</summary>
    public static string RequireLongToken(string? value, string what) =>
        Require(value, what, LongToken(), "letters, digits, '.', '_' or '-', at most 128, not starting with '.' or '-'");

    /// <summary>Throws when <paramref name="value"/> is not a valid command, detection or rule id.</summary>
    public static string RequireId(string? value, string what) =>
        Require(value, what, Id(), "letters, digits, '.', '_', ':' or '-', at most 128");

    /// <summary>True when <paramref name="value"/> is a valid host, datacenter or actuator id.</summary>
    public static bool IsToken(string? value) => value is not null && Token().IsMatch(value);

    /// <summary>True when <paramref name="value"/> is a valid container id or VM name.</summary>
    public static bool IsLongToken(string? value) => value is not null && LongToken().IsMatch(value);

    /// <summary>True when <paramref name="value"/> is a valid command, detection or rule id.</summary>
    public static bool IsId(string? value) => value is not null && Id().IsMatch(value);

    /// <summary>True when <paramref name="pid"/> is a plausible Linux pid (1 .. 2^22, PID_MAX_LIMIT).</summary>
    public static bool IsPid(int? pid) => pid is >= 1 and <= 4_194_304;

    /// <summary>Throws unless <paramref name="pid"/> is a plausible Linux pid (1 .. 2^22).</summary>
    public static int RequirePid(int? pid, string what)
    {
        if (pid is not { } p || !IsPid(p))
        {
            throw new ArgumentException($"{what}: '{pid}' is not a valid pid (1..4194304)", what);
        }
        return p;
    }

    private static string Require(string? value, string what, Regex pattern, string rule)
    {
        if (value is null || !pattern.IsMatch(value))
        {
            throw new ArgumentException($"{what}: '{Printable(value)}' is not a valid identifier ({rule})", what);
        }
        return value;
    }

    /// <summary>
    /// Bad input fit for an error message: at most 80 characters, control characters replaced, so it cannot forge log lines.
    /// </summary>
    /// <param name="value">The input to echo.</param>
    /// <param name="max">How many characters to keep (80 unless a message needs more, e.g. a URI).</param>
    public static string Printable(string? value, int max = 80) =>
        value is null ? "null" : new string([.. value.Take(max).Select(c => char.IsControl(c) ? '?' : c)]);
}
