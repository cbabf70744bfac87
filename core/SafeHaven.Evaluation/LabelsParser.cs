using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Evaluation;

/// <summary>
/// Reads labels CSV: <c>host,pid,label,onsetNs</c>, label <c>channel</c> or <c>benign</c>, an optional header line of
/// exactly those names, blank lines and <c>#</c> comments allowed. Every line is validated before any is used, so a bad
/// file is refused whole with <c>file:line: problem</c>.
/// </summary>
public static class LabelsParser
{
    /// <summary>The header line (optional).</summary>
    public const string Header = "host,pid,label,onsetNs";

    /// <summary>Reads and parses a labels file.</summary>
    /// <exception cref="LabelsFormatException">The file is unreadable or invalid.</exception>
    public static IReadOnlyList<ProcessLabel> Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LabelsFormatException(path, 0, $"cannot read labels file: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses labels text; <paramref name="source"/> names it in errors.</summary>
    /// <exception cref="LabelsFormatException">A line is not a valid label, or a process is labelled twice.</exception>
    public static IReadOnlyList<ProcessLabel> Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var labels = new List<ProcessLabel>();
        var seen = new Dictionary<(string, int), int>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r').Trim();
            var number = i + 1;
            if (line.Length == 0 || line.StartsWith('#') || (labels.Count == 0 && line == Header))
            {
                continue;
            }
            var label = ParseLine(source, number, line);
            if (seen.TryGetValue((label.Host, label.Pid), out var first))
            {
                throw new LabelsFormatException(source, number, $"host '{label.Host}' pid {label.Pid} is labelled twice (first at line {first})");
            }
            seen[(label.Host, label.Pid)] = number;
            labels.Add(label);
        }
        return labels;
    }

    private static ProcessLabel ParseLine(string source, int number, string line)
    {
        var fields = line.Split(',');
        if (fields.Length != 4)
        {
            throw new LabelsFormatException(source, number, $"expected 4 fields '{Header}', got {fields.Length}");
        }
        var host = fields[0].Trim();
        if (!Identifiers.IsToken(host))
        {
            throw new LabelsFormatException(source, number, $"host '{Identifiers.Printable(host)}' is not a valid host id");
        }
        if (!int.TryParse(fields[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid < 1 || pid > 4_194_304)
        {
            throw new LabelsFormatException(source, number, $"pid '{Identifiers.Printable(fields[1].Trim())}' is not a valid pid (1..4194304)");
        }
        var kind = fields[2].Trim() switch
        {
            "channel" => LabelKind.Channel,
            "benign" => LabelKind.Benign,
            var other => throw new LabelsFormatException(source, number, $"label '{Identifiers.Printable(other)}' must be 'channel' or 'benign'"),
        };
        var onsetText = fields[3].Trim();
        long onset = 0;
        if (onsetText.Length == 0 && kind == LabelKind.Channel)
        {
            throw new LabelsFormatException(source, number, "a channel label needs onsetNs (when the channel started, Unix epoch ns)");
        }
        if (onsetText.Length > 0 && (!long.TryParse(onsetText, NumberStyles.None, CultureInfo.InvariantCulture, out onset) || onset < 0))
        {
            throw new LabelsFormatException(source, number, $"onsetNs '{Identifiers.Printable(onsetText)}' must be a whole number of ns since the Unix epoch");
        }
        return new ProcessLabel(host, pid, kind, onset, number);
    }
}
