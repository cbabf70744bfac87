using Microsoft.Extensions.Logging;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;

namespace SafeHaven.Probes;

/// <summary>
/// The thresholds the probe publishes early against (<see cref="EarlyPublication"/>): from
/// <see cref="ProbeOptions.RulesFile"/>, re-read when its modification time changes, or from
/// <see cref="ProbeOptions.Rules"/>. A file that does not parse keeps the thresholds in force, as
/// the detector keeps its rules, so both go on judging by the same rules.
/// </summary>
internal sealed partial class ProbeRules
{
    private readonly string _file;
    private readonly ILogger _logger;
    private DateTime _loadedWriteTime;

    public ProbeRules(ProbeOptions options, ILogger logger)
    {
        _file = options.FineTick > TimeSpan.Zero && options.MaxConcurrentProcesses == 0 ? options.RulesFile : "";
        _logger = logger;
        Current = options.FineTick > TimeSpan.Zero && options.MaxConcurrentProcesses == 0 && options.Rules is { } rules
            ? new EarlyPublication(rules.Rules)
            : EarlyPublication.None;
        if (_file.Length > 0)
        {
            // The first load must succeed: a probe told to learn from a file it cannot read is misconfigured.
            Current = new EarlyPublication(Load().Rules);
        }
    }

    /// <summary>The thresholds in force.</summary>
    public EarlyPublication Current { get; private set; }

    /// <summary>True when early publication can ever be on (a rules source and a fine tick).</summary>
    public bool CanPublishEarly => _file.Length > 0 || Current.IsEnabled;

    /// <summary>Re-reads the rules file if it changed (once per period: one stat call).</summary>
    public void Refresh()
    {
        if (_file.Length == 0)
        {
            return;
        }
        try
        {
            if (File.GetLastWriteTimeUtc(_file) == _loadedWriteTime)
            {
                return;
            }
            Current = new EarlyPublication(Load().Rules);
            LogReloaded(_file, Current.Counters.Count);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or RulesFormatException)
        {
            LogKept(_file, e.Message);
        }
    }

    private RuleSet Load()
    {
        var writeTime = File.GetLastWriteTimeUtc(_file);
        var rules = RulesParser.Parse(File.ReadAllText(_file), _file);
        _loadedWriteTime = writeTime;
        return rules;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Early publication: thresholds reloaded from {File} ({Counters} counters)")]
    private partial void LogReloaded(string file, int counters);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Early publication: keeping the thresholds in force; {File}: {Problem}")]
    private partial void LogKept(string file, string problem);
}
