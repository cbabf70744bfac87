using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SafeHaven.Evaluation;

/// <summary>Everything one evaluation produced, and its JSON and Markdown forms.</summary>
/// <param name="Trace">The trace file, as given.</param>
/// <param name="RulesFile">The rules file, as given.</param>
/// <param name="LabelsFile">The labels file, or null.</param>
/// <param name="Run">The detector's run over the trace.</param>
/// <param name="Score">The scores.</param>
/// <param name="Plot">File name of the latency plot beside the Markdown report, or null when none was drawn.</param>
public sealed record EvaluationReport(string Trace, string RulesFile, string? LabelsFile, TraceEvaluator Run, EvaluationScore Score, string? Plot)
{
    /// <summary>The original system's figures (Falzon &amp; Bodden 2015, 1 s sampling period), ms.</summary>
    public static LatencySummary Reference { get; } = new(0, 15, 3160, 720, null, null);

    /// <summary>Detections of kind detected (repeats included).</summary>
    public int DetectionCount => Run.Detections.Count(d => d.kind is null || d.kind == SafeHaven.Core.DetectionKinds.Detected);

    /// <summary>Writes the report as one JSON document.</summary>
    public void WriteJson(Stream stream, IReadOnlyDictionary<string, string>? files = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("trace", Trace);
        w.WriteString("rules", RulesFile);
        Nullable(w, "labels", LabelsFile);
        w.WriteNumber("samples", Run.Samples);
        w.WriteNumber("rejectedSamples", Run.Rejected);
        w.WriteNumber("processes", Run.Processes.Count);
        w.WriteNumber("detections", DetectionCount);
        w.WriteNumber("results", Run.Results.Count);
        w.WriteNumber("recordedDetections", Run.Recorded.Count);
        w.WriteNumber("recordedDetectionsReproduced", Run.RecordedReproduced);
        Nullable(w, "precision", Score.Precision);
        Nullable(w, "recall", Score.Recall);
        w.WriteNumber("truePositives", Score.TruePositives);
        w.WriteNumber("falsePositives", Score.FalsePositives);
        w.WriteNumber("falseNegatives", Score.FalseNegatives);
        w.WriteNumber("trueNegatives", Score.TrueNegatives);
        w.WriteString("unlabelled", Score.Policy == UnlabelledPolicy.Ignore ? "ignore" : "benign");
        w.WriteNumber("unlabelledIgnored", Score.UnlabelledIgnored);
        w.WriteNumber("unlabelledIgnoredDetected", Score.UnlabelledIgnoredDetected);
        Summary(w, "detectionLatencyMs", Score.DetectionLatency);
        if (Run.Results.Count > 0)
        {
            Summary(w, "isolationMs", Score.IsolationTime);
            Summary(w, "totalMs", Score.TotalTime);
        }
        w.WriteStartArray("outcomes");
        foreach (var p in Score.Processes.Where(p => p.Outcome is not null || p.Detections > 0))
        {
            w.WriteStartObject();
            w.WriteString("host", p.Host);
            w.WriteNumber("pid", p.Pid);
            Nullable(w, "comm", p.Comm);
            Nullable(w, "label", p.Kind is { } k ? Name(k) : null);
            Nullable(w, "outcome", p.Outcome is { } o ? Name(o) : null);
            w.WriteNumber("detections", p.Detections);
            Nullable(w, "detectionId", p.FirstDetection?.detectionId);
            Nullable(w, "latencyMs", p.LatencyNs / 1e6);
            Nullable(w, "isolationMs", p.IsolationNs / 1e6);
            Nullable(w, "totalMs", p.TotalNs / 1e6);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (files is not null)
        {
            foreach (var (key, path) in files)
            {
                w.WriteString(key, path);
            }
        }
        w.WriteEndObject();
    }

    /// <summary>The Markdown report.</summary>
    public string ToMarkdown()
    {
        var s = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        s.Append(c, $"# Evaluation of `{Path.GetFileName(Trace)}`\n\n");
        s.Append(c, $"- trace: `{Trace}`\n- rules: `{RulesFile}` ({string.Join(", ", Run.Rules.Rules.Select(r => $"{r.Name}: {r.Counter} > {r.Threshold.ToString("G", c)}/s"))})\n");
        s.Append(c, $"- labels: {(LabelsFile is null ? "none" : $"`{LabelsFile}`")}; unlabelled processes: {(Score.Policy == UnlabelledPolicy.Ignore ? "ignored" : "counted as benign")}\n");
        s.Append(c, $"- {Run.Samples:N0} samples of {Run.Processes.Count:N0} processes evaluated, {Run.Rejected:N0} rejected as the detector would dead-letter them");
        if (Run.FirstWindowStartNs is { } from && Run.LastWindowEndNs is { } to)
        {
            s.Append(c, $", {(to - from) / 1e9:F1} s of windows");
        }
        s.Append(c, $"\n- {DetectionCount:N0} detections; in the trace: {Run.Results.Count:N0} isolation results, {Run.Recorded.Count:N0} recorded detections ({Run.RecordedReproduced:N0} reproduced here, same id)\n\n");
        s.Append("## Scores\n\n| precision | recall | TP | FP | FN | TN | unlabelled ignored (detected) |\n|---|---|---|---|---|---|---|\n");
        s.Append(c, $"| {Ratio(Score.Precision)} | {Ratio(Score.Recall)} | {Score.TruePositives} | {Score.FalsePositives} | {Score.FalseNegatives} | {Score.TrueNegatives} | {Score.UnlabelledIgnored} ({Score.UnlabelledIgnoredDetected}) |\n\n");
        s.Append("## Times (ms)\n\n| | n | min | mean | geomean | median | max |\n|---|---|---|---|---|---|---|\n");
        Row(s, "detection latency (window end − onset)", Score.DetectionLatency);
        if (Run.Results.Count > 0)
        {
            Row(s, "isolation (result finished − started)", Score.IsolationTime);
            Row(s, "total (onset → isolated)", Score.TotalTime);
        }
        Row(s, "Falzon & Bodden 2015 detection, 1 s period", Reference);
        if (Plot is not null)
        {
            s.Append(c, $"\n![detection latency distribution]({Plot})\n");
        }
        s.Append("\n## Processes\n\n| host | pid | comm | label | outcome | detections | first deciding detection | latency ms |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var p in Score.Processes.Where(p => p.Kind is not null || p.Detections > 0))
        {
            s.Append(c, $"| {p.Host} | {p.Pid} | {Cell(p.Comm)} | {(p.Kind is { } k ? Name(k) : "—")} | {(p.Outcome is { } o ? Name(o) : "ignored")} | {p.Detections} | {Cell(p.FirstDetection?.detectionId)} | {Ms(p.LatencyNs / 1e6)} |\n");
        }
        foreach (var p in Score.NeverSampled)
        {
            s.Append(c, $"\nWarning: labelled process {p.Host}/{p.Pid} has no valid sample in the trace.\n");
        }
        if (Run.Rejections.Count > 0)
        {
            s.Append("\n## Rejected samples\n\n");
            foreach (var (reason, n) in Run.Rejections)
            {
                s.Append(c, $"- {n:N0} × {Cell(reason)}\n");
            }
        }
        s.Append("\nDefinitions: docs/EVALUATION.md.\n");
        return s.ToString();
    }

    /// <summary>The wire name of an outcome.</summary>
    public static string Name(Outcome o) => o switch
    {
        Outcome.TruePositive => "truePositive",
        Outcome.FalsePositive => "falsePositive",
        Outcome.FalseNegative => "falseNegative",
        _ => "trueNegative",
    };

    /// <summary>The labels-file name of a label.</summary>
    public static string Name(LabelKind k) => k == LabelKind.Channel ? "channel" : "benign";

    private static void Row(StringBuilder s, string what, LatencySummary l) => s.Append(CultureInfo.InvariantCulture,
        $"| {what} | {(l.Count == 0 && ReferenceEquals(l, Reference) ? "—" : l.Count.ToString(CultureInfo.InvariantCulture))} | {Ms(l.MinMs)} | {Ms(l.MeanMs)} | {Ms(l.GeomeanMs)} | {Ms(l.MedianMs)} | {Ms(l.MaxMs)} |\n");

    private static string Ms(double? v) => v is { } x ? x.ToString("N1", CultureInfo.InvariantCulture) : "—";

    private static string Ratio(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "n/a";

    // Process names and reasons come from the trace: keep them from breaking the table.
    private static string Cell(string? v) => v is null ? "—" : v.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static void Summary(Utf8JsonWriter w, string name, LatencySummary l)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count", l.Count);
        Nullable(w, "min", l.MinMs);
        Nullable(w, "max", l.MaxMs);
        Nullable(w, "geomean", l.GeomeanMs);
        Nullable(w, "mean", l.MeanMs);
        Nullable(w, "median", l.MedianMs);
        w.WriteEndObject();
    }

    private static void Nullable(Utf8JsonWriter w, string name, double? v)
    {
        if (v is { } x)
        {
            w.WriteNumber(name, x);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static void Nullable(Utf8JsonWriter w, string name, string? v)
    {
        if (v is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, v);
        }
    }
}
