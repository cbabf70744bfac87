using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Clients;
using SafeHaven.Traces;
using SafeHaven.Traces.Kafka;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven record --out FILE</c>: samples (unbatched), inventory and optionally detections and results from a
/// cluster into a trace file (docs/TRACES.md), until --duration or Ctrl-C; the file is valid whenever it stops.
/// </summary>
internal static class RecordCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var output = new Option<string>("--out") { Description = "Trace file to write (Avro object container file)", Required = true };
        var force = new Option<bool>("--force") { Description = "Overwrite --out if it exists" };
        var codec = new Option<string>("--codec") { Description = "Block compression: zstd (default), deflate or null", DefaultValueFactory = _ => "zstd" };
        var include = new Option<string[]>("--include") { Description = "Also record these kinds: detections, results", AllowMultipleArgumentsPerToken = true };
        var from = new Option<string>("--from") { Description = "earliest (default: everything the topics still hold) or latest (from now on)", DefaultValueFactory = _ => "earliest" };
        var trusted = new Option<string?>("--trusted-keys")
        {
            Description = "Trusted keys (.pub files and the sample MAC master, as the detector's): records of a kind are recorded only if sealed by a trusted key of the role that writes it; without it nothing is checked",
        };
        var json = CommonOptions.Json();
        var command = new Command("record", "Record samples and inventory (and detections/results with --include) from --bootstrap into a trace file");
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Duration, flags.Prefix, flags.Partitions, flags.Cluster, output, force, codec, include, from, trusted, json })
        {
            command.Options.Add(o);
        }
        flags.Security.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("record needs --bootstrap (the cluster to record from)");
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration");
            var path = parse.GetValue(output)!;
            var traceCodec = TraceCodecs.Parse(parse.GetValue(codec)!) ?? throw new UsageException($"--codec '{Core.Identifiers.Printable(parse.GetValue(codec))}': expected zstd, deflate or null");
            var kinds = (parse.GetValue(include) ?? []).SelectMany(k => k.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
            if (kinds.FirstOrDefault(k => k is not ("detections" or "results")) is { } unknown)
            {
                throw new UsageException($"--include: unknown kind '{Core.Identifiers.Printable(unknown)}' (expected detections, results)");
            }
            var fromBeginning = parse.GetValue(from) switch
            {
                "earliest" => true,
                "latest" => false,
                var other => throw new UsageException($"--from '{Core.Identifiers.Printable(other)}': expected earliest or latest"),
            };
            var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
            if (!Directory.Exists(directory))
            {
                throw new UsageException($"--out {path}: directory {directory} does not exist");
            }
            if (File.Exists(path) && !parse.GetValue(force))
            {
                throw new UsageException($"--out {path}: the file exists (--force overwrites it)");
            }
            var seals = Seals(parse.GetValue(trusted), kinds);
            using var kafka = new KafkaClients(flags.Kafka(parse, server)) { Seals = seals };
            var options = new TraceRecorderOptions { Detections = kinds.Contains("detections"), Results = kinds.Contains("results"), FromBeginning = fromBeginning };
            using var duration = stopAfter is { } d ? new CancellationTokenSource(d) : new CancellationTokenSource();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, duration.Token);
            var metadata = new Dictionary<string, string>
            {
                ["safehaven.recordedBy"] = "safehaven record",
                ["safehaven.bootstrap"] = server,
                ["safehaven.startedAt"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            };
            using var writer = TraceWriter.Create(path, new TraceWriterOptions { Codec = traceCodec, Metadata = metadata });
            var rejectedShown = 0;
            var recorder = new TraceRecorder(kafka, options, TimeProvider.System);
            // Plain lines keep their format ("record: N records (…)"), one per recorder report (every 2 s and at the end).
            RecordStats stats;
            using (var progress = ProgressReport.Start("record", stopAfter?.TotalSeconds, TimeSpan.Zero, "record"))
            {
                stats = await ConsumeLoop.OnOwnThread(() => recorder.Run(writer, s => progress.Report(s.Elapsed.TotalSeconds, Describe(s)), reason =>
                {
                    if (rejectedShown++ < 20)
                    {
                        Console.Error.WriteLine($"record: left out {reason}");
                    }
                }, stop.Token), CancellationToken.None).ConfigureAwait(false);
            }
            writer.Dispose();
            Console.Error.WriteLine($"record: wrote {path}: {Describe(stats with { Bytes = new FileInfo(path).Length })}");
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    file = path, records = stats.Records, samples = stats.Samples, inventory = stats.Inventory, detections = stats.Detections,
                    results = stats.Results, rejected = stats.Rejected, bytes = new FileInfo(path).Length, seconds = stats.Elapsed.TotalSeconds,
                }));
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Describe(RecordStats s) => string.Create(CultureInfo.InvariantCulture,
        $"{s.Records} records ({s.Samples} samples, {s.Inventory} inventory, {s.Detections} detections, {s.Results} results), " +
        $"{s.Bytes / 1048576.0:F2} MiB, {s.Rate:F0} records/s over {s.Elapsed.TotalSeconds:F1} s, {s.Rejected} left out");

    private static RoleSeals Seals(string? trusted, HashSet<string> kinds)
    {
        if (trusted is null)
        {
            Console.Error.WriteLine("warning: no --trusted-keys: records are recorded without checking their seals (replay seals with its own --signing-key)");
            return RoleSeals.None;
        }
        var seals = RoleSeals.From(KeyFiles.RecordVerifier(trusted));
        foreach (var kind in new[] { Kafka.Clients.Seals.Kinds.Samples, Kafka.Clients.Seals.Kinds.Inventory }.Concat(kinds).Where(k => !seals.Checks(k)))
        {
            Console.Error.WriteLine($"warning: --trusted-keys {trusted} holds no {string.Join(" or ", RoleSeals.ProducersOf(kind))} key: {kind} are recorded unchecked");
        }
        return seals;
    }
}
