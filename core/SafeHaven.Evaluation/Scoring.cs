using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Evaluation;

/// <summary>The scores of one evaluation: counts, precision, recall and the latency tables.</summary>
/// <param name="Processes">Every labelled process, then every sampled or detected unlabelled one.</param>
/// <param name="Policy">How unlabelled processes were counted.</param>
public sealed record EvaluationScore(IReadOnlyList<ProcessOutcome> Processes, UnlabelledPolicy Policy)
{
    /// <summary>Channel processes detected after their onset.</summary>
    public int TruePositives => Count(Outcome.TruePositive);

    /// <summary>Benign (or, under <see cref="UnlabelledPolicy.Benign"/>, unlabelled) processes detected.</summary>
    public int FalsePositives => Count(Outcome.FalsePositive);

    /// <summary>Channel processes not detected after their onset.</summary>
    public int FalseNegatives => Count(Outcome.FalseNegative);

    /// <summary>Benign processes never detected.</summary>
    public int TrueNegatives => Count(Outcome.TrueNegative);

    /// <summary>TP / (TP + FP); null when nothing counted was detected.</summary>
    public double? Precision => TruePositives + FalsePositives == 0 ? null : (double)TruePositives / (TruePositives + FalsePositives);

    /// <summary>TP / (TP + FN); null when no channel is labelled.</summary>
    public double? Recall => TruePositives + FalseNegatives == 0 ? null : (double)TruePositives / (TruePositives + FalseNegatives);

    /// <summary>Unlabelled processes that were left out (policy Ignore).</summary>
    public int UnlabelledIgnored => Processes.Count(p => p.Kind is null && p.Outcome is null);

    /// <summary>Of those, how many were detected.</summary>
    public int UnlabelledIgnoredDetected => Processes.Count(p => p.Kind is null && p.Outcome is null && p.Detections > 0);

    /// <summary>Labelled processes the trace has no valid sample of.</summary>
    public IEnumerable<ProcessOutcome> NeverSampled => Processes.Where(p => p.Kind is not null && !p.Sampled);

    /// <summary>Detection latency of the true positives (window end − onset).</summary>
    public LatencySummary DetectionLatency => LatencySummary.Of(Processes.Select(p => p.LatencyNs).OfType<long>());

    /// <summary>Isolation time of the true positives that have a result (finished − started).</summary>
    public LatencySummary IsolationTime => LatencySummary.Of(Processes.Where(p => p.Outcome == Outcome.TruePositive).Select(p => p.IsolationNs).OfType<long>());

    /// <summary>Onset to isolated for the true positives that have a result.</summary>
    public LatencySummary TotalTime => LatencySummary.Of(Processes.Select(p => p.TotalNs).OfType<long>());

    private int Count(Outcome outcome) => Processes.Count(p => p.Outcome == outcome);
}

/// <summary>Scores an evaluation run against labels (the definitions are in docs/EVALUATION.md).</summary>
public static class Scoring
{
    /// <summary>Scores <paramref name="run"/> against <paramref name="labels"/>.</summary>
    public static EvaluationScore Score(TraceEvaluator run, IReadOnlyList<ProcessLabel> labels, UnlabelledPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(labels);
        // Quiet signals lift an isolation; they are not detections of a channel.
        var byProcess = run.Detections
            .Where(d => (d.kind is null || d.kind == DetectionKinds.Detected) && d.entity.pid is not null)
            .GroupBy(d => (d.entity.host, d.entity.pid!.Value))
            .ToDictionary(g => g.Key, g => g.OrderBy(d => d.detectedAtNs).ToList());
        var outcomes = new List<ProcessOutcome>();
        var labelled = new HashSet<(string, int)>();
        foreach (var label in labels)
        {
            labelled.Add((label.Host, label.Pid));
            var detections = byProcess.GetValueOrDefault((label.Host, label.Pid)) ?? [];
            run.Processes.TryGetValue((label.Host, label.Pid), out var comm);
            var sampled = run.Processes.ContainsKey((label.Host, label.Pid));
            if (label.Kind == LabelKind.Channel)
            {
                // A window that ended at or before the onset saw no channel: it neither proves nor refutes detection.
                var before = detections.Count(d => d.detectedAtNs <= label.OnsetNs);
                var first = detections.FirstOrDefault(d => d.detectedAtNs > label.OnsetNs);
                outcomes.Add(new(label.Host, label.Pid, comm, label.Kind, label.OnsetNs,
                    first is null ? Outcome.FalseNegative : Outcome.TruePositive, sampled, detections.Count, before, first,
                    first is null ? null : IsolationAfter(run.Results, label.Host, label.Pid, first)));
            }
            else
            {
                var first = detections.FirstOrDefault();
                outcomes.Add(new(label.Host, label.Pid, comm, label.Kind, 0,
                    first is null ? Outcome.TrueNegative : Outcome.FalsePositive, sampled, detections.Count, 0, first,
                    first is null ? null : IsolationAfter(run.Results, label.Host, label.Pid, first)));
            }
        }
        var unlabelled = run.Processes.Keys.Concat(byProcess.Keys).Distinct().Where(k => !labelled.Contains(k))
            .OrderBy(k => k.Item1, StringComparer.Ordinal).ThenBy(k => k.Item2);
        foreach (var (host, pid) in unlabelled)
        {
            var detections = byProcess.GetValueOrDefault((host, pid)) ?? [];
            var first = detections.FirstOrDefault();
            Outcome? outcome = policy == UnlabelledPolicy.Ignore ? null : first is null ? Outcome.TrueNegative : Outcome.FalsePositive;
            run.Processes.TryGetValue((host, pid), out var comm);
            outcomes.Add(new(host, pid, comm, null, 0, outcome, run.Processes.ContainsKey((host, pid)), detections.Count, 0, first,
                first is null ? null : IsolationAfter(run.Results, host, pid, first)));
        }
        return new EvaluationScore(outcomes, policy);
    }

    private static IsolationResult? IsolationAfter(IReadOnlyList<IsolationResult> results, string host, int pid, Detection detection) =>
        results.Where(r => r.status == ResultStatus.Succeeded && !r.dryRun && r.entity?.host == host && r.entity.pid == pid
                && r.finishedAtNs >= detection.detectedAtNs)
            .OrderBy(r => r.finishedAtNs)
            .FirstOrDefault();
}
