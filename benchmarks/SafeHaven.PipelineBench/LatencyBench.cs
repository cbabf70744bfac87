using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.Planning;
using SafeHaven.Core;

namespace SafeHaven.PipelineBench;

/// <summary>Latency settings: rate, duration, fleet shape.</summary>
internal sealed record LatencyPlan(int Rate = 10_000, int Seconds = 30, int WarmUpSeconds = 5, int Hosts = 200, int QuietPidsPerHost = 50, int CrossingsPerSecond = 20, int? SampleLingerMs = null);

/// <summary>
/// Sample → command latency at a steady sample rate, through the real detector and planner
/// services (AddSafeHavenStreamProcessors, the configuration `safehaven up` runs).
/// </summary>
internal static class LatencyBench
{
    public static async Task RunAsync(LatencyPlan plan, LogLevel logLevel, CancellationToken ct)
    {
        // Bootstrap is filled in once the broker runs; the options are needed first for the topic prefix.
        var options = new KafkaOptions { BootstrapServers = "127.0.0.1:1", Partitions = Bench.Partitions };
        var detector = new DetectorOptions { RulesFile = "bench-rules" };
        using var broker = await Bench.StartBrokerAsync(new TopicNames(options.TopicPrefix), detector.ApplicationId);
        options.BootstrapServers = broker.BootstrapServers;
        using var kafka = new KafkaClients(options);
        PublishInventory(kafka, plan);

        using var signer = CommandSigner.Ephemeral(out _);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddSimpleConsole(o => (o.SingleLine, o.TimestampFormat) = (true, "HH:mm:ss.ffffff ")).SetMinimumLevel(logLevel);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(kafka);
        // As the planner bench: every crossing is one decision. No budget skips a move (20 crossings/s are 1,200 moves
        // a minute, the default allows 300 per datacenter), and no command expires: no actuator answers here, and an
        // expired command is re-sent, which would time a second command of the same crossing.
        var planner = new PlannerOptions { CommandTtl = TimeSpan.FromHours(1), MovesPerHostPerMinute = 0, MovesPerEntityPerHour = 0, MovesPerDatacenterPerMinute = 0 };
        builder.Services.AddSafeHavenStreamProcessors(detector, planner,
            RulesParser.Parse(Bench.RulesYaml, "bench.yaml"), signer);
        using var host = builder.Build();
        await host.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        var producedAt = new ConcurrentDictionary<long, long>();
        var samplesSeen = new List<(long Seq, double Ms)>();
        var detections = new List<(long Seq, double Ms)>();
        var commands = new List<(long Seq, double Ms)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var progress = new LatencyReaders.Progress();
        var reader = Task.Factory.StartNew(() => LatencyReaders.Read(kafka, producedAt, detections, commands, progress, stop.Token), TaskCreationOptions.LongRunning);
        var sampleReader = Task.Factory.StartNew(() => LatencyReaders.ReadSamples(kafka, producedAt, samplesSeen, stop.Token), TaskCreationOptions.LongRunning);

        var (sent, crossings, seconds) = Produce(kafka, plan, producedAt);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"produced {sent} samples in {seconds:F1} s = {sent / seconds:F0}/s; {crossings} crossings measured (after {plan.WarmUpSeconds} s warm-up)"));
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until && Volatile.Read(ref progress.Commands) < producedAt.Count)
        {
            await Task.Delay(50, ct);
        }
        await stop.CancelAsync();
        await reader;
        await sampleReader;
        await host.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        var measuredFrom = (long)plan.Rate * plan.WarmUpSeconds;
        foreach (var (name, hop) in new[] { ("sample seen   ", samplesSeen), ("detection seen", detections), ("command seen  ", commands) })
        {
            var first = hop.Where(x => x.Seq < measuredFrom).OrderBy(x => x.Seq).Take(3).Select(x => x.Ms.ToString("F1", CultureInfo.InvariantCulture));
            Console.WriteLine(Bench.Summary("sample -> " + name, [.. hop.Where(x => x.Seq >= measuredFrom).Select(x => x.Ms)]) +
                $"; first 3 crossings of the run: {string.Join(", ", first)} ms");
        }
        Console.WriteLine($"commands for measured crossings: {commands.Count(x => x.Seq >= measuredFrom)} of {crossings}");
        if (plan.Seconds >= 120)
        {
            // The raw consumer's hop beside the detector's: a stall in both is the machine or the broker, not the detector.
            LatencyTimeline.Print("sample -> sample seen", samplesSeen, plan.Rate);
            LatencyTimeline.Print("sample -> detection seen", detections, plan.Rate);
        }
    }

    /// <summary>The process of crossing <paramref name="j"/>: a process of its own on host j % hosts (never pid 1, which no planner moves).</summary>
    private static int CrossingPid(int j, int hosts) => PlannerInventory.MeasuredPid(j, hosts);

    /// <summary>Crossings a run can make: one every rate/crossings-th sample after the first 2 s (see <see cref="Produce"/>).</summary>
    private static int MaxCrossings(LatencyPlan plan) => plan.CrossingsPerSecond * (plan.Seconds + plan.WarmUpSeconds) + 1;

    /// <summary>
    /// One actuator per host, with a pool of one CPU per crossing the host gets (each crossing is a process in a group
    /// of its own, so it takes a slot of its own), and the probe's record of every crossing's process: the planner places
    /// a process only once its record tells it the process's group.
    /// </summary>
    private static void PublishInventory(KafkaClients kafka, LatencyPlan plan)
    {
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("bench-inventory")).Build();
        var serializer = kafka.Serdes.Serializer<EntityState>();
        var perHost = (MaxCrossings(plan) + plan.Hosts - 1) / plan.Hosts;
        for (var i = 0; i < plan.Hosts; i++)
        {
            var host = Bench.Host(i);
            ConsumeLoop.Produce(producer, serializer, kafka.Topics.Inventory, "dc1/" + host, new EntityState
            {
                entityId = "dc1/" + host,
                kind = InventoryKinds.Actuator,
                entity = new EntityRef { datacenter = "dc1", host = host },
                isolationPool = "0-" + Math.Max(7, perHost).ToString(CultureInfo.InvariantCulture),
                levels = ["core"],
                counterStatus = new Dictionary<string, string>(),
                attributes = new Dictionary<string, string> { [InventoryAttributes.ActuatorId] = "act-" + host },
                updatedAtNs = Bench.NowNs(),
            });
        }
        for (var j = 0; j < MaxCrossings(plan); j++)
        {
            var process = PlannerFleet.Process(j % plan.Hosts, CrossingPid(j, plan.Hosts));
            ConsumeLoop.Produce(producer, serializer, kafka.Topics.Inventory, process.entityId, process);
        }
        producer.Flush(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Paced to the rate, in 1 ms bursts. The fleet's quiet processes take turns; every
    /// rate/crossings-th sample is instead one sample above ε of a process not seen before
    /// (host j % hosts, pid 2000 + j / hosts, whose inventory record is published up front), which becomes exactly one
    /// detection and one command.
    /// </summary>
    private static (long Sent, int Crossings, double Seconds) Produce(KafkaClients kafka, LatencyPlan plan, ConcurrentDictionary<long, long> producedAt)
    {
        // The probe's own settings (KafkaClients.Producer), unless --linger overrides its linger.ms.
        var config = kafka.Producer("bench-probe");
        config.LingerMs = plan.SampleLingerMs ?? config.LingerMs;
        using var producer = new ProducerBuilder<string, byte[]>(config).Build();
        WarmUp.Metadata(producer, [kafka.Topics.Samples], TimeSpan.FromSeconds(10));
        var codec = new SingleObjectCodec<CounterSample>();
        var quiet = plan.Hosts * plan.QuietPidsPerHost;
        var every = plan.Rate / plan.CrossingsPerSecond;
        var total = (long)plan.Rate * (plan.Seconds + plan.WarmUpSeconds);
        var warmUp = (long)plan.Rate * plan.WarmUpSeconds;
        var crossings = 0;
        var next = 0;
        var start = Stopwatch.GetTimestamp();
        for (long seq = 0; seq < total;)
        {
            var due = Math.Min(total, (long)(Bench.Ms(Stopwatch.GetTimestamp() - start) / 1000 * plan.Rate));
            for (; seq < due; seq++)
            {
                CounterSample sample;
                // The first 2 s are quiet: every client is connected before the first crossing, which then
                // measures what a process's first detection costs (first produce to the output topics).
                if (seq % every == every - 1 && seq >= 2L * plan.Rate)
                {
                    var j = next++;
                    sample = Bench.Sample(Bench.Host(j % plan.Hosts), CrossingPid(j, plan.Hosts), 50_000, seq, Bench.NowNs());
                    // Warm-up crossings are timed too: the first ones show what a process's first detection costs.
                    crossings += seq >= warmUp ? 1 : 0;
                    producedAt[seq] = Stopwatch.GetTimestamp();
                }
                else
                {
                    var e = (int)(seq % quiet);
                    sample = Bench.Sample(Bench.Host(e % plan.Hosts), 1000 + e / plan.Hosts, 100, seq, Bench.NowNs());
                }
                var message = new Message<string, byte[]> { Key = sample.host, Value = codec.Encode(sample) };
                if (sample.values[Bench.ContextSwitches] > 1000)
                {
                    // Lets the raw sample reader time crossings without decoding every sample.
                    message.Headers = [new Header(LatencyReaders.SeqHeader, BitConverter.GetBytes(seq))];
                }
                producer.Produce(kafka.Topics.Samples, message);
            }
            Thread.Sleep(1);
        }
        var seconds = Bench.Ms(Stopwatch.GetTimestamp() - start) / 1000;
        producer.Flush(TimeSpan.FromSeconds(10));
        return (total, crossings, seconds);
    }
}
