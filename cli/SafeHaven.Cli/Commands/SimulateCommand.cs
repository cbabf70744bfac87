using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SafeHaven.Cli.Runtime;
using SafeHaven.Cli.Simulate;
using SafeHaven.Core.Simulation;
using SafeHaven.Kafka.Clients;
using SafeHaven.Security;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven simulate</c>: the samples of a whole fleet from one process, for capacity planning against any cluster
/// (docs/SCALING.md). A live progress line on stderr; one JSON summary on stdout at the end.
/// </summary>
internal static class SimulateCommand
{
    public static Command Create()
    {
        var flags = new RoleFlags();
        var hosts = new Option<int>("--hosts") { Description = "Simulated hosts, each publishing one SampleBatch per period", Required = true };
        var processes = new Option<int>("--processes") { Description = "Benign processes per host (log-normal rates below --benign-max)", Required = true };
        var period = new Option<string>("--period") { Description = "Sampling period of every host", DefaultValueFactory = _ => "1s" };
        var hot = new Option<int>("--hot") { Description = "Hot entities (a process each, far above ε), spread evenly over the hosts" };
        var datacenters = new Option<int>("--datacenters") { Description = "Datacenters the hosts are dealt into (dc1, dc2, …)", DefaultValueFactory = _ => 1 };
        var pulse = new Option<bool>("--pulse") { Description = "Hot entities storm one period in four, so they are detected again and again (latency series); default: steadily" };
        var hotRate = new Option<double>("--hot-rate") { Description = "A hot entity's rate, events/s", DefaultValueFactory = _ => 50_000 };
        var benignMax = new Option<double>("--benign-max") { Description = "Cap of benign rates, events/s: keep it below the rules' ε", DefaultValueFactory = _ => 1_500 };
        var counter = new Option<string>("--counter") { Description = "Counter of every sample", DefaultValueFactory = _ => "context-switches" };
        var hostPrefix = new Option<string>("--host-prefix") { Description = "Host ids are this prefix and a number", DefaultValueFactory = _ => "sim-" };
        var master = new Option<string?>("--sample-master") { Description = "Sample MAC master (.mac file or directory): each host's batches carry its host MAC, as an enrolled probe's; without it they are unsealed" };
        var command = new Command("simulate", "Publish realistic samples of N hosts from one process against --bootstrap; progress on stderr, a JSON summary on stdout")
        {
            hosts, processes, period, hot, datacenters, pulse, hotRate, benignMax, counter, hostPrefix, master,
        };
        foreach (var o in new Option[] { flags.Bootstrap, flags.Registry, flags.Duration, flags.Prefix, flags.Partitions })
        {
            command.Options.Add(o);
        }
        flags.Security.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var server = flags.Server(parse) ?? throw new UsageException("simulate needs --bootstrap (safehaven broker prints one)");
            var spec = new FleetSpec(parse.GetValue(hosts), parse.GetValue(processes), CommonOptions.ParseDuration(parse.GetValue(period), "--period")!.Value,
                parse.GetValue(hot), parse.GetValue(datacenters), parse.GetValue(counter)!, parse.GetValue(hotRate), Math.Min(100, parse.GetValue(benignMax)),
                parse.GetValue(benignMax), parse.GetValue(hostPrefix)!, parse.GetValue(pulse));
            try
            {
                spec.Validate();
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message, e);
            }
            var duration = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration") ?? TimeSpan.FromSeconds(60);
            var fleet = new FleetModel(spec);
            var sealFor = Sealers(parse.GetValue(master), fleet);
            using var kafka = new KafkaClients(flags.Kafka(parse, server));
            using var publisher = new FleetPublisher(fleet, kafka, sealFor, TimeProvider.System);
            var watch = new DetectionWatch(kafka, spec.HostPrefix, TimeProvider.System);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var watching = ConsumeLoop.OnOwnThread(() => watch.Run(stop.Token), CancellationToken.None);
            var clock = Stopwatch.StartNew();
            var publishing = ConsumeLoop.OnOwnThread(() => publisher.Run(stop.Token), CancellationToken.None);
            Console.Error.WriteLine($"simulate: {spec.Hosts} hosts × {spec.Processes} processes every {spec.Period.TotalMilliseconds:F0} ms " +
                $"(+{spec.Hot} hot), {spec.Datacenters} datacenter(s), for {duration.TotalSeconds:F0} s; offered {Offered(spec):F0} samples/s");
            // A terminal gets a bar over --duration; a log gets the status line every 5 s.
            using var progress = ProgressReport.Start("simulate", duration.TotalSeconds, TimeSpan.FromSeconds(5), prefix: null);
            while (clock.Elapsed < duration && !ct.IsCancellationRequested)
            {
                await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None), publishing).ConfigureAwait(false);
                progress.Report(clock.Elapsed.TotalSeconds, Status(clock.Elapsed, publisher, watch.Summary()));
                if (publishing.IsCompleted)
                {
                    break;
                }
            }
            stop.Cancel();
            var published = clock.Elapsed;
            await publishing.ConfigureAwait(false);
            publisher.Flush(TimeSpan.FromSeconds(10));
            // Detections of the last samples are still on their way: give them a moment.
            await Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None).ConfigureAwait(false);
            await watching.ConfigureAwait(false);
            progress.Dispose();
            Console.Out.WriteLine(Summary(spec, published, publisher, watch.Summary()));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static double Offered(FleetSpec spec) =>
        (spec.Hosts * (double)spec.Processes + spec.Hot) / spec.Period.TotalSeconds;

    private static Func<int, RecordSigner?> Sealers(string? path, FleetModel fleet)
    {
        if (path is null)
        {
            Console.Error.WriteLine("warning: no --sample-master: samples are unsealed; a detector that checks samples dead-letters them");
            return _ => null;
        }
        var masters = SampleMacKeys.LoadMasters(path);
        if (masters.Count == 0)
        {
            throw new UsageException($"--sample-master {path}: no master key (.mac) there (safehaven keys sample-master --dir DIR)");
        }
        // The master an enrolled host would be derived from: the one the detectors trust first.
        var (id, key) = masters.OrderBy(m => m.Key, StringComparer.Ordinal).First();
        return i =>
        {
            var subject = fleet.DatacenterOf(i) + "/" + fleet.HostId(i);
            return RecordSigner.HostMac(SampleMacKeys.Derive(key, subject), new KeyIdentity(id, KeyRoles.Probe, subject));
        };
    }

    private static string Summary(FleetSpec spec, TimeSpan elapsed, FleetPublisher publisher, WatchSummary seen)
    {
        var (batches, samples, bytes, failed) = publisher.Delivered;
        var seconds = elapsed.TotalSeconds;
        static double? Finite(double v) => double.IsFinite(v) ? Math.Round(v, 1) : null;
        return JsonSerializer.Serialize(new
        {
            hosts = spec.Hosts, processes = spec.Processes, periodMs = spec.Period.TotalMilliseconds, hot = spec.Hot, datacenters = spec.Datacenters,
            seconds = Math.Round(seconds, 1), batches, samples, failedBatches = failed,
            offeredSamplesPerSecond = Math.Round(Offered(spec)), samplesPerSecond = Math.Round(samples / seconds),
            batchesPerSecond = Math.Round(batches / seconds), bytesPerSecond = Math.Round(bytes / seconds), behindMaxMs = publisher.BehindMaxMs,
            detections = new
            {
                windows = seen.Detections, entities = seen.Entities, duplicates = seen.Duplicates, conflictingIds = seen.Conflicts,
                p50Ms = Finite(seen.P50Ms), p99Ms = Finite(seen.P99Ms), maxMs = Finite(seen.MaxMs),
            },
        });
    }

    private static string Status(TimeSpan at, FleetPublisher publisher, WatchSummary seen)
    {
        var (batches, samples, _, failed) = publisher.Delivered;
        return string.Create(CultureInfo.InvariantCulture,
            $"{at.TotalSeconds,5:F0} s  batches {batches,9:N0}  samples {samples,11:N0} ({samples / Math.Max(0.001, at.TotalSeconds),9:N0}/s)  failed {failed}  behind {publisher.BehindMaxMs} ms  hot detected {seen.Entities}  p50 {seen.P50Ms:F0} ms  p99 {seen.P99Ms:F0} ms");
    }
}
