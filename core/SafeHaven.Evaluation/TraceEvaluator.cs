using SafeHaven.Core;
using SafeHaven.Core.Bounds;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Schemas;

namespace SafeHaven.Evaluation;

/// <summary>
/// Runs the detector's own code over a trace, offline: each sample goes through the checks the detector topology
/// applies (<see cref="RecordBounds.Replay"/>, <see cref="SampleValidator"/>) and then <see cref="DetectorEngine"/>
/// with an in-memory rule-state store, in the order it is added. Time is the samples' windows only, so the same trace
/// and rules give the same detections (same ids) as a replay through the live topology.
/// </summary>
public sealed class TraceEvaluator
{
    private readonly DetectorEngine _engine;
    private readonly InMemoryRuleStateStore _store = new();
    private readonly List<Detection> _batch = [];
    private readonly List<Detection> _detections = [];
    private readonly List<IsolationResult> _results = [];
    private readonly List<Detection> _recorded = [];
    private readonly Dictionary<(string Host, int Pid), string?> _processes = [];
    private readonly Dictionary<string, long> _rejections = new(StringComparer.Ordinal);
    private long _firstWindowStartNs = long.MaxValue;
    private long _lastWindowEndNs = long.MinValue;

    /// <summary>Creates an evaluator for <paramref name="rules"/>.</summary>
    /// <param name="rules">The rules, as the detector loads them.</param>
    /// <param name="repeatWhileHot">As <see cref="DetectorEngine"/>'s (default: the detector's default).</param>
    public TraceEvaluator(RuleSet rules, TimeSpan? repeatWhileHot = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = rules;
        _engine = new DetectorEngine(rules, repeatWhileHot);
    }

    /// <summary>The rules evaluated.</summary>
    public RuleSet Rules { get; }

    /// <summary>Samples the detector evaluated.</summary>
    public long Samples { get; private set; }

    /// <summary>Samples the detector would have dead-lettered (out of bounds or invalid).</summary>
    public long Rejected { get; private set; }

    /// <summary>Why samples were rejected: reason → count (the first 100 distinct reasons).</summary>
    public IReadOnlyDictionary<string, long> Rejections => _rejections;

    /// <summary>Every detection the detector emitted, in order (both kinds: detected and quiet).</summary>
    public IReadOnlyList<Detection> Detections => _detections;

    /// <summary>Isolation results recorded in the trace, in order.</summary>
    public IReadOnlyList<IsolationResult> Results => _results;

    /// <summary>Detections recorded in the trace (what the live detector emitted), in order.</summary>
    public IReadOnlyList<Detection> Recorded => _recorded;

    /// <summary>
    /// How many recorded detections this run emitted too (same id): all of them when the trace was recorded with the
    /// same rules and nothing was lost on the way.
    /// </summary>
    public int RecordedReproduced
    {
        get
        {
            var ids = _detections.Select(d => d.detectionId).ToHashSet(StringComparer.Ordinal);
            return _recorded.Count(d => ids.Contains(d.detectionId));
        }
    }

    /// <summary>Processes sampled (host, pid) with their last command name.</summary>
    public IReadOnlyDictionary<(string Host, int Pid), string?> Processes => _processes;

    /// <summary>Start of the earliest window evaluated, Unix ns (null before any sample).</summary>
    public long? FirstWindowStartNs => Samples == 0 ? null : _firstWindowStartNs;

    /// <summary>End of the latest window evaluated, Unix ns (null before any sample).</summary>
    public long? LastWindowEndNs => Samples == 0 ? null : _lastWindowEndNs;

    /// <summary>Evaluates one sample, as the detector would; returns the detections it caused (valid until the next call).</summary>
    public IReadOnlyList<Detection> Add(CounterSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        _batch.Clear();
        // Same order as the topology: bounds, then semantic checks, then the engine (DetectorTransformer.Process).
        var problem = RecordBounds.Replay.Problem(sample, 0) is { } outOfBounds
            ? "CounterSample out of bounds: " + outOfBounds
            : SampleValidator.Problem(sample);
        if (problem is null)
        {
            try
            {
                _engine.Evaluate(SampleView.Of(sample), _store, _batch);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or OverflowException)
            {
                problem = $"{e.GetType().Name}: {e.Message}";
            }
        }
        if (problem is not null)
        {
            Reject(problem);
            return [];
        }
        Samples++;
        _firstWindowStartNs = Math.Min(_firstWindowStartNs, sample.timestampNs - sample.intervalNs);
        _lastWindowEndNs = Math.Max(_lastWindowEndNs, sample.timestampNs);
        if (sample.entity.pid is { } pid)
        {
            _processes[(sample.host, pid)] = sample.entity.comm;
        }
        _detections.AddRange(_batch);
        return _batch;
    }

    /// <summary>Keeps an isolation result recorded in the trace, for isolation and total times.</summary>
    public void Add(IsolationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        _results.Add(result);
    }

    /// <summary>Keeps a detection recorded in the trace, to compare with this run's (<see cref="RecordedReproduced"/>).</summary>
    public void AddRecorded(Detection detection)
    {
        ArgumentNullException.ThrowIfNull(detection);
        _recorded.Add(detection);
    }

    private void Reject(string problem)
    {
        Rejected++;
        if (_rejections.TryGetValue(problem, out var n))
        {
            _rejections[problem] = n + 1;
        }
        else if (_rejections.Count < 100)
        {
            _rejections[problem] = 1;
        }
    }
}
