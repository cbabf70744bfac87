using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SafeHaven.Cli.Report;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Core;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven report utilisation</c>: CPUs and hosts held by on-demand isolation against what static isolation of
/// every monitored group would hold, per level, from the ledger and inventory topics (docs/OPERATIONS.md).
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var json = new Option<bool>("--json") { Description = "Print one JSON document instead of a table" };
        var since = new Option<string?>("--since") { Description = "Only the last DURATION (e.g. 10m); default: everything on the topics" };
        var utilisation = new Command("utilisation", "CPUs, hosts and unit-seconds held by on-demand isolation against static isolation of every monitored group, per level")
        {
            json, since,
        };
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Prefix })
        {
            utilisation.Options.Add(o);
        }
        flags.Security.AddTo(utilisation);
        utilisation.SetAction((parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("report needs --bootstrap");
            var window = CommonOptions.ParseDuration(parse.GetValue(since), "--since");
            // The same Kafka settings as every verb (--config, SAFEHAVEN__ variables, flags); a report creates no topic.
            using var kafka = new KafkaClients(flags.Kafka(parse, server));
            var account = new UtilisationAccount();
            var slots = kafka.Serdes.Deserializer<SlotRecord>();
            var entities = kafka.Serdes.Deserializer<EntityState>();
            var unreadable = 0;
            var complete = TopicsToEnd.Read(kafka, [kafka.Topics.Placements, kafka.Topics.Inventory], cr =>
            {
                if (cr.Message.Value is not { } v)
                {
                    return; // a tombstone: the history before it was already folded
                }
                try
                {
                    if (cr.Topic == kafka.Topics.Placements)
                    {
                        account.OnSlot(KafkaSerdes.Decode(slots, v, cr.Topic));
                    }
                    else
                    {
                        account.OnEntity(KafkaSerdes.Decode(entities, v, cr.Topic));
                    }
                }
                catch (Exception e) when (e is AvroDecodeException or ArgumentException or FormatException)
                {
                    unreadable++;
                }
            }, TimeSpan.FromSeconds(60), ct);
            if (!complete)
            {
                Console.Error.WriteLine("report: warning: the topics were not read to their end within 60 s; the account is partial");
            }
            if (unreadable > 0)
            {
                Console.Error.WriteLine($"report: warning: {unreadable} record(s) could not be read and are not counted");
            }
            var now = TimeProvider.System.NowNs();
            var from = window is { } w ? now - w.Ticks * 100 : account.FirstNs ?? now - 1;
            var report = account.Report(Math.Min(from, now - 1), now);
            Console.Out.WriteLine(parse.GetValue(json) ? Json(report) : Table(report));
            return Task.FromResult(ExitCodes.Ok);
        });
        return new Command("report", "Reports over a deployment's topics") { utilisation, MtdReport.Create() };
    }

    private static string Json(UtilisationReport r) => new JsonObject
    {
        ["fromNs"] = r.FromNs,
        ["toNs"] = r.ToNs,
        ["windowSeconds"] = (r.ToNs - r.FromNs) / 1e9,
        ["monitoredGroups"] = r.MonitoredGroups,
        ["levels"] = new JsonArray([.. r.Levels.Select(l => (JsonNode)new JsonObject
        {
            ["level"] = l.Level, ["unit"] = l.Unit, ["isolations"] = l.Isolations, ["onDemandUnitSeconds"] = l.OnDemandUnitSeconds,
            ["peakUnits"] = l.PeakUnits, ["staticUnits"] = l.StaticUnits, ["staticUnitSeconds"] = l.StaticUnitSeconds, ["ratio"] = l.Ratio,
        })]),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    private static string Table(UtilisationReport r)
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"window {(r.ToNs - r.FromNs) / 1e9:F1} s, {r.MonitoredGroups} monitored group(s); static isolation = one exclusive unit per group for the whole window"),
            "level      unit  isolations  on-demand unit-s  peak  static units  static unit-s  on-demand/static",
        };
        lines.AddRange(r.Levels.Select(l => string.Create(CultureInfo.InvariantCulture,
            $"{l.Level,-10} {l.Unit,-5} {l.Isolations,10}  {l.OnDemandUnitSeconds,16:F1}  {l.PeakUnits,4}  {l.StaticUnits,12}  {l.StaticUnitSeconds,13:F1}  {l.Ratio,16:P2}")));
        return string.Join('\n', lines);
    }
}
