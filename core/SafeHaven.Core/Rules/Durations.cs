using System.Globalization;
using System.Text.RegularExpressions;

namespace SafeHaven.Core.Rules;

/// <summary>Durations as written in rules and on the command line: <c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c>.</summary>
public static partial class Durations
{
    [GeneratedRegex(@"^(\d{1,9}(?:\.\d{1,9})?)(ms|s|m|h)\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>Parses a duration; false with a reason for anything else (no unit, negative, garbage).</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        var m = Pattern().Match(text ?? "");
        if (!m.Success)
        {
            error = $"'{text}' is not a duration (expected a number with a unit: 500ms, 30s, 2m, 1h)";
            return false;
        }
        var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        value = m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(n),
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            _ => TimeSpan.FromHours(n),
        };
        return true;
    }

    /// <summary>Parses a duration or throws <see cref="FormatException"/> with the reason.</summary>
    public static TimeSpan Parse(string text) => TryParse(text, out var v, out var e) ? v : throw new FormatException(e);
}
