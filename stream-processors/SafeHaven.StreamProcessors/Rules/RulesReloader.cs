using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;

namespace SafeHaven.StreamProcessors.Rules;

/// <summary>What one reload attempt did.</summary>
/// <param name="Applied">True when the new rules are now in force.</param>
/// <param name="Changed">False when the file held exactly the text already in force (nothing to do).</param>
/// <param name="RuleCount">Number of rules in force after the attempt.</param>
/// <param name="Problem">Why the file was refused (<c>file:line: problem</c>); null when applied.</param>
public sealed record RulesReloadOutcome(bool Applied, bool Changed, int RuleCount, string? Problem);

/// <summary>
/// The decision behind a rules reload, free of watchers and timers: read the file, parse it,
/// and either swap the engine's rules or keep the old ones and say why. A file is applied as a
/// whole or not at all, so a half-written or broken file never disarms the detector.
/// </summary>
public sealed class RulesReloader
{
    private readonly DetectorEngine _engine;
    private readonly Func<string, string> _read;
    private string? _lastText;

    /// <summary>Creates a reloader of <paramref name="path"/> into <paramref name="engine"/>.</summary>
    /// <param name="engine">The engine whose rules are replaced.</param>
    /// <param name="path">The rules file.</param>
    /// <param name="read">Reads a file's text; <see cref="File.ReadAllText(string)"/> unless a test substitutes it.</param>
    public RulesReloader(DetectorEngine engine, string path, Func<string, string>? read = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
        _read = read ?? File.ReadAllText;
    }

    /// <summary>The rules file.</summary>
    public string Path { get; }

    /// <summary>Reads, validates and applies the file, or keeps the rules in force.</summary>
    public RulesReloadOutcome Reload()
    {
        string text;
        try
        {
            text = _read(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Between an editor's delete and its create the file is briefly missing: keep the rules.
            return Refused(new RulesFormatException(Path, 0, $"cannot read rules file: {e.Message}"));
        }
        // Watchers report one save as several events: the same text again is not a reload.
        if (text == _lastText)
        {
            return new RulesReloadOutcome(true, false, _engine.Rules.Rules.Count, null);
        }
        RuleSet rules;
        try
        {
            rules = RulesParser.Parse(text, Path);
        }
        catch (RulesFormatException e)
        {
            return Refused(e);
        }
        _engine.Replace(rules);
        _lastText = text;
        return new RulesReloadOutcome(true, true, rules.Rules.Count, null);
    }

    private RulesReloadOutcome Refused(RulesFormatException e) =>
        new(false, true, _engine.Rules.Rules.Count, e.Message);
}
