using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SafeHaven.Cli.Evaluation;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core.Rules;
using SafeHaven.Evaluation;
using SafeHaven.Traces;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven evaluate FILE --rules R [--labels L]</c>: the detector's own code over a recorded trace, offline; a
/// Markdown report and a latency plot in <c>--out</c>, and with <c>--json</c> one JSON document on stdout
/// (docs/EVALUATION.md).
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "The trace (an Avro object container file written by 'safehaven record', docs/TRACES.md)" };
        var rules = CommonOptions.Rules();
        rules.Required = true;
        var labels = new Option<FileInfo?>("--labels") { Description = "Ground truth, CSV 'host,pid,label,onsetNs' (label channel or benign; onsetNs: when the channel started, Unix ns)" };
        var unlabelled = new Option<string>("--unlabelled")
        {
            Description = "Processes the labels do not name: 'ignore' (left out of precision and recall, reported apart) or 'benign' (a detection is a false positive)",
            DefaultValueFactory = _ => "ignore",
        };
        unlabelled.AcceptOnlyFromAmong("ignore", "benign");
        var json = CommonOptions.Json();
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "Directory for report.md and latency.png (default: ./evaluation-<trace name>)" };
        var command = new Command("evaluate", "Run the detector over a trace offline and score it against labels: precision, recall, detection latency") { file, rules, labels, unlabelled, json, outDir };
        command.SetAction(parse =>
        {
            var trace = parse.GetValue(file)!;
            var ruleSet = CommonOptions.LoadRules(parse.GetValue(rules)!);
            var labelsFile = parse.GetValue(labels);
            var truth = LoadLabels(labelsFile);
            var policy = parse.GetValue(unlabelled) == "benign" ? UnlabelledPolicy.Benign : UnlabelledPolicy.Ignore;
            var dir = parse.GetValue(outDir) ?? new DirectoryInfo("evaluation-" + Path.GetFileNameWithoutExtension(trace.Name));

            var evaluator = Evaluate(trace, ruleSet);
            var score = Scoring.Score(evaluator, truth, policy);
            foreach (var missing in score.NeverSampled)
            {
                Console.Error.WriteLine($"warning: {labelsFile?.FullName}: labelled process {missing.Host}/{missing.Pid} has no valid sample in the trace");
            }
            if (truth.Count == 0)
            {
                Console.Error.WriteLine("warning: no labels: precision and recall are not defined (--labels), detections only");
            }
            dir.Create();
            var plot = Path.Combine(dir.FullName, "latency.png");
            var latencies = score.Processes.Select(p => p.LatencyNs).OfType<long>().Select(ns => ns / 1e6).ToList();
            if (!LatencyPlot.HasFonts)
            {
                Console.Error.WriteLine("warning: no font found under /usr/share/fonts (Debian: fonts-dejavu-core): the plot has no text");
            }
            LatencyPlot.Save(plot, latencies, $"Detection latency: {trace.Name} ({ruleSet.Rules.Count} rules)");
            var report = new EvaluationReport(trace.FullName, ruleSet.Source, labelsFile?.FullName, evaluator, score, "latency.png");
            var markdown = Path.Combine(dir.FullName, "report.md");
            File.WriteAllText(markdown, report.ToMarkdown());
            WriteSummary(parse.GetValue(json), report, score, markdown, plot);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static IReadOnlyList<ProcessLabel> LoadLabels(FileInfo? labelsFile)
    {
        if (labelsFile is null)
        {
            return [];
        }
        try
        {
            return LabelsParser.Load(labelsFile.FullName);
        }
        catch (LabelsFormatException e)
        {
            throw new UsageException($"--labels: {e.Message}", e);
        }
    }

    // Every record of the trace through the detector's own code, with progress and the rate on stderr.
    private static TraceEvaluator Evaluate(FileInfo trace, RuleSet ruleSet)
    {
        var evaluator = new TraceEvaluator(ruleSet);
        var clock = Stopwatch.StartNew();
        using (var progress = ProgressReport.Start("evaluate", null, TimeSpan.FromSeconds(5), "evaluate"))
        {
            var read = 0L;
            TraceInput.ForEach(trace, entry =>
            {
                // The record count is not known before the end: the bar only shows activity, the line how many.
                if (++read % 4096 == 0)
                {
                    progress.Report(read, string.Create(CultureInfo.InvariantCulture, $"{read:N0} records read, {evaluator.Samples:N0} samples evaluated"));
                }
                switch (entry.Kind)
                {
                    case TraceKind.Samples:
                        evaluator.Add(entry.Sample!);
                        break;
                    case TraceKind.Results:
                        evaluator.Add(entry.Result!);
                        break;
                    case TraceKind.Detections:
                        evaluator.AddRecorded(entry.Detection!);
                        break;
                    default:
                        break;
                }
            });
        }
        var elapsed = clock.Elapsed;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"evaluate: {evaluator.Samples:N0} samples ({evaluator.Rejected:N0} rejected) read and evaluated in {elapsed.TotalMilliseconds:F0} ms: {(evaluator.Samples + evaluator.Rejected) / Math.Max(elapsed.TotalSeconds, 1e-9):F0} samples/s"));
        return evaluator;
    }

    // One JSON document on stdout with --json, else the scores and where the files are.
    private static void WriteSummary(bool json, EvaluationReport report, EvaluationScore score, string markdown, string plot)
    {
        if (json)
        {
            using var stdout = Console.OpenStandardOutput();
            report.WriteJson(stdout, new Dictionary<string, string> { ["report"] = markdown, ["plot"] = plot });
            stdout.WriteByte((byte)'\n');
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"precision {Show(score.Precision)} recall {Show(score.Recall)} TP {score.TruePositives} FP {score.FalsePositives} FN {score.FalseNegatives}; detection latency mean {Show(score.DetectionLatency.MeanMs)} ms"));
            Console.Out.WriteLine($"report: {markdown}");
            Console.Out.WriteLine($"plot: {plot}");
        }
    }

    private static string Show(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "n/a";
}
