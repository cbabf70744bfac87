using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Clients;
using SafeHaven.Traces;
using SafeHaven.Traces.Kafka;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven replay FILE</c>: publishes a trace's samples (as SampleBatch records) and inventory to --bootstrap at the
/// recorded pace, --speed X, or --speed max, sealed with --signing-key as the probes sealed them (docs/TRACES.md).
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var file = new Argument<string>("FILE") { Description = "Trace file (safehaven record, or any Avro container file of safehaven.v1.CounterSample)" };
        var speed = new Option<string>("--speed") { Description = "Pace: 1 (recorded speed, default), a factor such as 10 or 0.5, or max", DefaultValueFactory = _ => "1" };
        var signing = new Option<string?>("--signing-key")
        {
            Description = "Key directory that seals the replayed records as the probes did: a sample MAC master (.mac) or host keys (.hostmac) for samples, probe keys (.key, role probe DC/HOST) for inventory; without it records go out unsealed",
        };
        var json = CommonOptions.Json();
        var command = new Command("replay", "Publish a trace's samples and inventory to --bootstrap at recorded speed, --speed X or --speed max");
        command.Arguments.Add(file);
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Prefix, flags.Partitions, speed, signing, json })
        {
            command.Options.Add(o);
        }
        flags.Security.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("replay needs --bootstrap (the cluster to publish to)");
            var path = parse.GetValue(file)!;
            var pacer = new ReplayPacer(ParseSpeed(parse.GetValue(speed)!));
            if (!File.Exists(path))
            {
                throw new UsageException($"{path}: no such file");
            }
            // The whole file is checked before anything is published: a corrupt trace sends nothing.
            var entries = TraceReader.ReadAll(path);
            using var sealer = parse.GetValue(signing) is { } keys ? ReplaySealer.FromDirectory(keys) : ReplaySealer.None;
            if (!sealer.HasKeys)
            {
                Console.Error.WriteLine("warning: no --signing-key: records go out unsealed; a detector that trusts probe keys dead-letters them (--allow-unsealed samples)");
            }
            using var kafka = new KafkaClients(flags.Kafka(parse, server));
            var replayer = new TraceReplayer(kafka, sealer, TimeProvider.System);
            var started = TimeProvider.System.GetTimestamp();
            ReplayStats stats;
            using (var progress = ProgressReport.Start("replay", entries.Count, TimeSpan.FromSeconds(5), "replay"))
            {
                stats = await replayer.RunAsync(Counted(entries, progress), pacer,
                    host => Console.Error.WriteLine($"warning: no key in --signing-key speaks for {host}: its records go out unsealed"), ct).ConfigureAwait(false);
            }
            var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"replay: {stats.Samples} samples in {stats.Batches} batches, {stats.Inventory} inventory, {stats.Skipped} detections/results not replayed, " +
                $"{stats.Unsealed} unsealed, {stats.Failed} failed, in {seconds:F2} s ({stats.Samples / Math.Max(seconds, 1e-9):F0} samples/s)"));
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    file = path, samples = stats.Samples, batches = stats.Batches, inventory = stats.Inventory, skipped = stats.Skipped,
                    unsealed = stats.Unsealed, failed = stats.Failed, seconds, samplesPerSecond = stats.Samples / Math.Max(seconds, 1e-9),
                }));
            }
            return stats.Failed == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    // The entries as the replayer takes them, each one reported: the replayer paces, so this is the replay's progress.
    private static IEnumerable<TraceEntry> Counted(IReadOnlyList<TraceEntry> entries, ProgressReport progress)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            yield return entries[i];
            progress.Report(i + 1, string.Create(CultureInfo.InvariantCulture, $"{i + 1} of {entries.Count} records sent"));
        }
    }

    private static double? ParseSpeed(string text)
    {
        if (text == "max")
        {
            return null;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var factor) && factor > 0 && double.IsFinite(factor))
        {
            return factor;
        }
        throw new UsageException($"--speed '{Core.Identifiers.Printable(text)}': expected a positive factor (1 = recorded speed) or max");
    }
}
