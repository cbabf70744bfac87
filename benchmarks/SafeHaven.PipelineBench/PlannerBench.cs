using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.PipelineBench;

/// <summary>Planner bench settings: the fleet, the measured detections, and whether the move budgets stay in force.</summary>
internal sealed record PlannerPlan(int Detections = 10_000, int Hosts = 10_000, int WarmUp = 1000, bool DefaultBudgets = false)
{
    /// <summary>One CPU per group placed on a host: the measured ones, plus the warm-up one.</summary>
    public string Pool => "1-" + Math.Max(2, ((Detections + Hosts - 1) / Hosts) + 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The bench measures decisions, so by default no budget skips a move (0 = no limit) and no command expires
    /// during the run (an expiry re-sends, which is a second command for one detection). With the defaults
    /// (30 per host and 300 per datacenter per minute) almost every detection becomes a skipped result.
    /// </summary>
    public PlannerOptions Options() => DefaultBudgets
        ? new PlannerOptions { CommandTtl = TimeSpan.FromMinutes(10) }
        : new PlannerOptions { CommandTtl = TimeSpan.FromMinutes(10), MovesPerHostPerMinute = 0, MovesPerEntityPerHour = 0, MovesPerDatacenterPerMinute = 0 };
}

/// <summary>
/// Planner decisions/s through the real planner service (AddSafeHavenPlanner, what `safehaven plan` runs) on the
/// embedded broker, with the record seals checked and written as in `up`: an inventory of many hosts, then a backlog
/// of detections, each answered by one command or one skipped result (a decision).
/// </summary>
internal static class PlannerBench
{
    public static async Task RunAsync(PlannerPlan plan, CancellationToken ct)
    {
        PlannerCoreBench.Run(plan);

        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:1", Partitions = Bench.Partitions };
        using var broker = await Bench.StartBrokerAsync(new TopicNames(options.TopicPrefix));
        options.BootstrapServers = broker.BootstrapServers;
        using var fleet = new PlannerFleet(plan.Hosts, plan.Pool);
        var started = Stopwatch.GetTimestamp();
        using var kafka = new KafkaClients(options) { Seals = fleet.Seals };
        var sentinels = PlannerInventory.Publish(kafka, fleet, plan);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"inventory: {plan.Hosts} actuators + {plan.Hosts + plan.Detections} processes, each record sealed by its host's key, in {Bench.Ms(Stopwatch.GetTimestamp() - started) / 1000:F1} s; " +
            $"pool {plan.Pool} per host; budgets {(plan.DefaultBudgets ? "default (30/host/min, 6/entity/h, 300/dc/min)" : "off")}"));

        using var signer = CommandSigner.Ephemeral(out _);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(kafka);
        builder.Services.AddSafeHavenPlanner(plan.Options(), signer);
        using var host = builder.Build();
        await host.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var seen = new PlannerOutput();
        var reader = Task.Factory.StartNew(() => seen.Read(kafka, stop.Token), TaskCreationOptions.LongRunning);
        using var producer = new ProducerBuilder<string, byte[]>(DetectorProducer(kafka)).Build();
        var codec = kafka.Serdes.Serializer<Detection>();

        // The hosts whose actuator record is last in an inventory partition: their commands mean the whole inventory was read.
        var t = Stopwatch.GetTimestamp();
        Produce(producer, kafka, fleet, codec, sentinels.Select((h, i) => (h, PlannerInventory.WarmPid, $"s-{i}")));
        await seen.WaitAsync("s-", sentinels.Count, 60, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"inventory read by the planner: sentinel commands after {Bench.Ms(Stopwatch.GetTimestamp() - t):F0} ms"));
        var warm = Enumerable.Range(0, Math.Min(plan.WarmUp, plan.Hosts)).Where(h => !sentinels.Contains(h)).ToList();
        t = Stopwatch.GetTimestamp();
        Produce(producer, kafka, fleet, codec, warm.Select(h => (h, PlannerInventory.WarmPid, $"w-{h}")));
        await seen.WaitAsync("w-", warm.Count, 60, ct);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"warm-up: {warm.Count} decisions in {Bench.Ms(Stopwatch.GetTimestamp() - t) / 1000:F2} s = {warm.Count / (Bench.Ms(Stopwatch.GetTimestamp() - t) / 1000):F0}/s"));

        // The measured backlog: produced as fast as the producer goes, so the planner's own pace is what is timed.
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        seen.MarkStart();
        Produce(producer, kafka, fleet, codec, Enumerable.Range(0, plan.Detections)
            .Select(j => (j % plan.Hosts, PlannerInventory.MeasuredPid(j, plan.Hosts), "m-" + j.ToString(CultureInfo.InvariantCulture))));
        var produced = Bench.Ms(Stopwatch.GetTimestamp() - seen.Start) / 1000;
        await seen.WaitAsync("m-", plan.Detections, 15, ct, stallOnly: true);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        await stop.CancelAsync();
        await reader;
        await host.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        seen.Report(plan.Detections, produced, cpu);
        PlannerInventory.CheckNothingDropped(broker.BootstrapServers, kafka.Topics);
    }

    /// <summary>The detector's producer as Streamiz runs it: batches of up to a few ms (the mock returns one batch per fetch).</summary>
    private static ProducerConfig DetectorProducer(KafkaClients kafka)
    {
        var config = kafka.Producer("bench-detector");
        config.LingerMs = 5;
        return config;
    }

    /// <summary>Detections keyed by entity id and sealed with the detector's key, as the detector writes them.</summary>
    private static void Produce(IProducer<string, byte[]> producer, KafkaClients kafka, PlannerFleet fleet, ISerializer<Detection> codec,
        IEnumerable<(int Host, int Pid, string Id)> detections)
    {
        foreach (var (h, pid, id) in detections)
        {
            var d = PlannerFleet.DetectionOf(h, pid, id);
            ConsumeLoop.Produce(producer, codec, kafka.Topics.Detections, SafeHaven.Core.EntityIds.Of(d.entity), d,
                seal: (fleet.Detector, Seals.Kinds.Detections));
        }
        producer.Flush(TimeSpan.FromSeconds(30));
    }
}
