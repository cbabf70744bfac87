using System.Text.Json;
using SafeHaven.Core.Rules;
using SafeHaven.Schemas;
using static SafeHaven.Evaluation.Tests.Samples;

namespace SafeHaven.Evaluation.Tests;

public class ScoringTests
{
    // pid 10: channel from T0+4 s (window 5 on); 20: quiet benign; 30: benign with one burst; 40: channel never above ε;
    // 50: unlabelled storm.
    private static readonly List<CounterSample> Trace = Samples.Trace(8, [10, 20, 30, 40, 50], (pid, i) => pid switch
    {
        10 => i >= 5 ? 50_000 : 100,
        30 => i == 3 ? 5_000 : 100,
        50 => 90_000,
        _ => 100,
    });

    private static readonly ProcessLabel[] Labels =
    [
        new(Host, 10, LabelKind.Channel, T0 + (4 * Second)),
        new(Host, 20, LabelKind.Benign, 0),
        new(Host, 30, LabelKind.Benign, 0),
        new(Host, 40, LabelKind.Channel, T0 + (2 * Second)),
    ];

    [Fact]
    public void Counts_each_labelled_process_once_and_leaves_unlabelled_ones_out()
    {
        var score = Scoring.Score(Run(Trace), Labels, UnlabelledPolicy.Ignore);

        Assert.Equal((1, 1, 1, 1), (score.TruePositives, score.FalsePositives, score.FalseNegatives, score.TrueNegatives));
        Assert.Equal(0.5, score.Precision);
        Assert.Equal(0.5, score.Recall);
        Assert.Equal((1, 1), (score.UnlabelledIgnored, score.UnlabelledIgnoredDetected));
        // Window 5 ends at T0+5 s, one second after the onset.
        Assert.Equal(new LatencySummary(1, 1000, 1000, 1000, 1000, 1000), score.DetectionLatency);
        Assert.Equal($"{Host}:{T0 + (5 * Second)}:20:storm", score.Processes.Single(p => p.Pid == 10).FirstDetection!.detectionId);
    }

    [Fact]
    public void Unlabelled_processes_count_as_benign_on_request()
    {
        var score = Scoring.Score(Run(Trace), Labels, UnlabelledPolicy.Benign);

        Assert.Equal(2, score.FalsePositives);
        Assert.Equal(1.0 / 3, score.Precision);
        Assert.Equal(0, score.UnlabelledIgnored);
    }

    [Fact]
    public void A_detection_that_ended_before_the_onset_does_not_count_for_the_channel()
    {
        // A burst in window 1, quiet until the onset at T0+5 s, channel from window 7; cooldown 2 s lets it fire again.
        var trace = Samples.Trace(8, [60], (_, i) => i == 1 || i >= 7 ? 50_000 : 0);
        var rules = RulesParser.Parse("rules:\n  - {name: storm, counter: context-switches, threshold: 2000, scope: core, cooldown: 2s}\n", "r.yaml");

        var score = Scoring.Score(Run(trace, rules), [new(Host, 60, LabelKind.Channel, T0 + (5 * Second))], UnlabelledPolicy.Ignore);

        var p = Assert.Single(score.Processes);
        Assert.Equal(Outcome.TruePositive, p.Outcome);
        Assert.Equal((2, 1), (p.Detections, p.DetectionsBeforeOnset));
        Assert.Equal(2 * Second, p.LatencyNs);
    }

    [Fact]
    public void A_channel_detected_only_before_its_onset_is_a_false_negative()
    {
        var trace = Samples.Trace(8, [60], (_, i) => i == 1 || i >= 7 ? 50_000 : 0);

        var score = Scoring.Score(Run(trace), [new(Host, 60, LabelKind.Channel, T0 + (5 * Second))], UnlabelledPolicy.Ignore);

        Assert.Equal(Outcome.FalseNegative, Assert.Single(score.Processes).Outcome);
        Assert.Equal(0.0, score.Recall);
    }

    [Fact]
    public void Isolation_and_total_times_come_from_the_first_succeeded_result_after_the_detection()
    {
        var run = Run(Trace);
        var detected = T0 + (5 * Second);
        run.Add(Result(10, "failed", detected + 1_000_000, detected + 2_000_000));
        run.Add(Result(10, "succeeded", detected + 10_000_000, detected + 15_000_000, dryRun: true));
        run.Add(Result(10, "succeeded", detected + 10_000_000, detected + 15_000_000));
        run.Add(Result(10, "succeeded", detected + 50_000_000, detected + 60_000_000));

        var score = Scoring.Score(run, Labels, UnlabelledPolicy.Ignore);

        Assert.Equal(new LatencySummary(1, 5, 5, 5, 5, 5), score.IsolationTime);
        Assert.Equal(new LatencySummary(1, 1015, 1015, 1015, 1015, 1015), score.TotalTime);
    }

    [Fact]
    public void Samples_the_detector_would_dead_letter_are_rejected_and_do_not_count()
    {
        var bad = Samples.Of(10, 99, T0 + Second, 50_000, intervalNs: 0);
        var negative = Samples.Of(10, 100, T0 + Second, -1);

        var run = Run([bad, negative, .. Trace]);

        Assert.Equal(2, run.Rejected);
        Assert.Equal(Trace.Count, run.Samples);
        Assert.Contains(run.Rejections.Keys, k => k.Contains("intervalNs must be > 0", StringComparison.Ordinal));
        Assert.Contains(run.Rejections.Keys, k => k.Contains("negative count", StringComparison.Ordinal));
    }

    [Fact]
    public void Latency_summary_has_the_original_table()
    {
        var l = LatencySummary.Of([1_000_000, 2_000_000, 4_000_000, 8_000_000]);

        Assert.Equal((4, 1.0, 8.0, 3.75), (l.Count, l.MinMs!.Value, l.MaxMs!.Value, l.MeanMs!.Value));
        Assert.Equal(Math.Sqrt(8), l.GeomeanMs!.Value, 9);
        Assert.Equal(3.0, l.MedianMs);
        Assert.Equal(new LatencySummary(0, null, null, null, null, null), LatencySummary.Of([]));
    }

    [Fact]
    public void Json_report_carries_the_scores_and_latency_table()
    {
        var run = Run(Trace);
        run.Add(Result(10, "succeeded", T0 + (5 * Second), T0 + (5 * Second) + 5_000_000));
        var report = new EvaluationReport("t.avro", "r.yaml", "l.csv", run, Scoring.Score(run, Labels, UnlabelledPolicy.Ignore), "latency.png");
        using var stream = new MemoryStream();

        report.WriteJson(stream);

        var json = JsonDocument.Parse(stream.ToArray()).RootElement;
        Assert.Equal(0.5, json.GetProperty("precision").GetDouble());
        Assert.Equal(0.5, json.GetProperty("recall").GetDouble());
        Assert.Equal(1, json.GetProperty("truePositives").GetInt32());
        Assert.Equal(1, json.GetProperty("falsePositives").GetInt32());
        Assert.Equal(1, json.GetProperty("falseNegatives").GetInt32());
        var latency = json.GetProperty("detectionLatencyMs");
        foreach (var key in new[] { "min", "max", "geomean", "mean" })
        {
            Assert.Equal(1000, latency.GetProperty(key).GetDouble());
        }
        Assert.Equal(5, json.GetProperty("isolationMs").GetProperty("mean").GetDouble());
        Assert.Equal(1005, json.GetProperty("totalMs").GetProperty("max").GetDouble());
        Assert.Contains("| 0.5 | 0.5 | 1 | 1 | 1 | 1 | 1 (1) |", report.ToMarkdown(), StringComparison.Ordinal);
    }

    private static IsolationResult Result(int pid, string status, long started, long finished, bool dryRun = false) => new()
    {
        commandId = $"c{pid}-{started}",
        entity = new EntityRef { datacenter = "dc1", host = Host, pid = pid },
        level = "core",
        status = status,
        startedAtNs = started,
        finishedAtNs = finished,
        phases = new Dictionary<string, long>(),
        dryRun = dryRun,
    };
}
