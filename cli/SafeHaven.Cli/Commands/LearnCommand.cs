using System.CommandLine;
using System.Globalization;
using SafeHaven.Cli.Evaluation;
using SafeHaven.Core.Rules;
using SafeHaven.Evaluation.Learning;
using SafeHaven.Traces;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven learn FILE…</c>: proposes a rules file from benign traces, one rule per counter with a threshold from
/// the observed rate distribution and a stated margin (docs/EVALUATION.md, "Learnt rules").
/// </summary>
internal static class LearnCommand
{
    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("FILE") { Description = "One or more benign traces (no channel in them): the rates they show are taken as normal", Arity = ArgumentArity.OneOrMore };
        var margin = new Option<double>("--margin") { Description = "Threshold = statistic × margin (≥ 1)", DefaultValueFactory = _ => 2.0 };
        var statistic = new Option<string>("--statistic")
        {
            Description = "Which point of each counter's rate distribution: max (the training trace never fires), p99.9 or p99",
            DefaultValueFactory = _ => "max",
        };
        statistic.AcceptOnlyFromAmong("max", "p99.9", "p99");
        var scope = new Option<string>("--scope") { Description = "Scope of the learnt rules (benign data cannot tell a channel's scope)", DefaultValueFactory = _ => "core" };
        var output = new Option<FileInfo?>("--out") { Description = "Write the rules here (default: stdout)" };
        var command = new Command("learn", "Propose rules from a benign trace: per counter, a threshold from the observed rates and a margin") { files, margin, statistic, scope, output };
        command.SetAction(parse =>
        {
            var traces = parse.GetValue(files)!;
            var options = new LearnOptions(parse.GetValue(margin), parse.GetValue(statistic) switch
            {
                "p99.9" => RateStatistic.P999,
                "p99" => RateStatistic.P99,
                _ => RateStatistic.Max,
            }, parse.GetValue(scope)!, string.Join(", ", traces.Select(t => t.Name)));
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"--margin/--scope: {e.Message}", e);
            }
            var learner = new RateLearner();
            foreach (var trace in traces)
            {
                TraceInput.ForEach(trace, entry =>
                {
                    if (entry.Kind == TraceKind.Samples)
                    {
                        learner.Add(entry.Sample!);
                    }
                });
            }
            string yaml;
            try
            {
                yaml = LearntRules.Write(learner, options);
            }
            catch (ArgumentException e)
            {
                throw new UsageException($"{e.Message}", e);
            }
            // The output must load as any rules file does; failing here is a bug, not bad input.
            var rules = RulesParser.Parse(yaml, "learnt rules");
            if (parse.GetValue(output) is { } target)
            {
                var temp = target.FullName + ".tmp";
                File.WriteAllText(temp, yaml);
                File.Move(temp, target.FullName, overwrite: true);
                Console.Error.WriteLine($"learn: {rules.Rules.Count} rules written to {target.FullName}");
            }
            else
            {
                Console.Out.Write(yaml);
            }
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"learn: {learner.Samples:N0} samples of {learner.Entities:N0} entities ({learner.Rejected:N0} rejected); rules: {string.Join(", ", rules.Rules.Select(r => $"{r.Counter} > {r.Threshold}/s"))}"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
