using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SafeHaven.Cli.Commands;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Report;

/// <summary>
/// <c>safehaven report mtd</c>: moving-target overhead per entity (moves, failures, skips, time moved, downtime, per
/// hour) from the results topic (docs/OPERATIONS.md).
/// </summary>
internal static class MtdReport
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of a table" };
        var since = new Option<string?>("--since") { Description = "Only the last DURATION (e.g. 1h); default: everything on the results topic" };
        var command = new Command("mtd", "Moving-target overhead per entity from the results topic: moves, failures, skips, time moved, downtime per hour") { json, since };
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Prefix })
        {
            command.Options.Add(o);
        }
        flags.Security.AddTo(command);
        command.SetAction((parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("report needs --bootstrap");
            var window = CommonOptions.ParseDuration(parse.GetValue(since), "--since");
            // The same Kafka settings as every verb (--config, SAFEHAVEN__ variables, flags); a report creates no topic.
            using var kafka = new KafkaClients(flags.Kafka(parse, server));
            var now = TimeProvider.System.NowNs();
            var cutoff = window is { } w ? now - w.Ticks * 100 : long.MinValue;
            var account = new MovingTargetAccount();
            var results = kafka.Serdes.Deserializer<IsolationResult>();
            var unreadable = 0;
            var complete = TopicsToEnd.Read(kafka, [kafka.Topics.Results], cr =>
            {
                // Only ids the planner gave moving-target moves: other results are not decoded at all.
                if (cr.Message.Value is not { } v || !MovingTargetAccount.IsMove(cr.Message.Key))
                {
                    return;
                }
                try
                {
                    var r = KafkaSerdes.Decode(results, v, cr.Topic);
                    if (r.finishedAtNs >= cutoff)
                    {
                        account.Add(r);
                    }
                }
                catch (Exception e) when (e is AvroDecodeException or ArgumentException or FormatException)
                {
                    unreadable++;
                }
            }, TimeSpan.FromSeconds(60), ct);
            if (!complete)
            {
                Console.Error.WriteLine("report: warning: the results topic was not read to its end within 60 s; the account is partial");
            }
            if (unreadable > 0)
            {
                Console.Error.WriteLine($"report: warning: {unreadable} record(s) could not be read and are not counted");
            }
            var from = window is not null ? cutoff : account.FirstNs ?? now - 1;
            var rows = account.Report(Math.Min(from, now - 1), now);
            Console.Out.WriteLine(parse.GetValue(json) ? Json(rows, from, now) : Table(rows, from, now));
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }

    private static string Json(IReadOnlyList<MovingTargetCost> rows, long fromNs, long toNs) => new JsonObject
    {
        ["fromNs"] = fromNs,
        ["toNs"] = toNs,
        ["entities"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
        {
            ["entity"] = r.Entity, ["level"] = r.Level, ["moves"] = r.Moves, ["failures"] = r.Failures, ["skipped"] = r.Skipped,
            ["preempted"] = r.Preempted, ["movedSeconds"] = r.MovedSeconds, ["downtimeSeconds"] = r.DowntimeSeconds,
            ["movesPerHour"] = r.MovesPerHour, ["movedSecondsPerHour"] = r.MovedSecondsPerHour, ["downtimeSecondsPerHour"] = r.DowntimeSecondsPerHour,
        })]),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    private static string Table(IReadOnlyList<MovingTargetCost> rows, long fromNs, long toNs)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"window {(toNs - fromNs) / 1e9:F1} s; {rows.Count} moving-target entit{(rows.Count == 1 ? "y" : "ies")}"),
            "entity                               level      moves  failed  skipped  preempted  moved s  downtime s  moves/h  downtime s/h",
        };
        lines.AddRange(rows.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"{r.Entity,-36} {r.Level,-9} {r.Moves,6}  {r.Failures,6}  {r.Skipped,7}  {r.Preempted,9}  {r.MovedSeconds,7:F3}  {r.DowntimeSeconds,10:F3}  {r.MovesPerHour,7:F1}  {r.DowntimeSecondsPerHour,12:F3}")));
        return string.Join('\n', lines);
    }
}
