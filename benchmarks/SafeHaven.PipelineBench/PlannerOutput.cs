using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.PipelineBench;

/// <summary>
/// Reads the planner's decisions as an actuator and a SIEM would (commands, and the skipped results a budget
/// gives), counting them per batch of the bench: detection ids start with s- (sentinels), w- (warm-up), m- (measured).
/// </summary>
internal sealed class PlannerOutput
{
    private readonly Lock _gate = new();
    private readonly Dictionary<char, int> _decisions = [];
    private readonly List<long> _measured = [];
    private int _commands;
    private int _skipped;

    /// <summary>Stopwatch timestamp of the first measured detection's production.</summary>
    public long Start { get; private set; }

    public void MarkStart() => Start = Stopwatch.GetTimestamp();

    public void Read(KafkaClients kafka, CancellationToken ct)
    {
        var topics = kafka.Topics;
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("bench-planner-reader", "bench-planner-reader")).Build();
        consumer.Assign(new[] { topics.Commands, topics.Results }.SelectMany(t =>
            Enumerable.Range(0, Bench.Partitions).Select(p => new TopicPartitionOffset(t, p, Offset.Beginning))));
        var commands = kafka.Serdes.Deserializer<IsolationCommand>();
        var results = kafka.Serdes.Deserializer<IsolationResult>();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var r = consumer.Consume(ct);
                var now = Stopwatch.GetTimestamp();
                // A command names its detection; a skipped result only its command id, c-DETECTION-LEVEL.
                var isCommand = r.Topic == topics.Commands;
                var id = isCommand
                    ? KafkaSerdes.Decode(commands, r.Message.Value, r.Topic).detectionId ?? "?"
                    : KafkaSerdes.Decode(results, r.Message.Value, r.Topic) is { status: ResultStatus.Skipped, actuator: "planner" } s ? s.commandId[2..] : "?";
                lock (_gate)
                {
                    _decisions[id[0]] = _decisions.GetValueOrDefault(id[0]) + 1;
                    if (id[0] == 'm')
                    {
                        _measured.Add(now);
                        (isCommand ? ref _commands : ref _skipped)++;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        consumer.Close();
    }

    private int Count(string prefix)
    {
        lock (_gate)
        {
            return _decisions.GetValueOrDefault(prefix[0]);
        }
    }

    /// <summary>
    /// Waits for <paramref name="count"/> decisions of a batch: at most <paramref name="seconds"/> in all, or, with
    /// <paramref name="stallOnly"/>, as long as decisions keep coming at least every <paramref name="seconds"/>.
    /// </summary>
    public async Task WaitAsync(string prefix, int count, int seconds, CancellationToken ct, bool stallOnly = false)
    {
        var (seen, since) = (Count(prefix), Stopwatch.GetTimestamp());
        while (seen < count)
        {
            await Task.Delay(10, ct);
            var now = Count(prefix);
            if (stallOnly && now != seen)
            {
                (seen, since) = (now, Stopwatch.GetTimestamp());
            }
            seen = now;
            if (Bench.Ms(Stopwatch.GetTimestamp() - since) > seconds * 1000.0)
            {
                Console.WriteLine($"WARNING: {seen} of {count} decisions for {prefix} after {seconds} s{(stallOnly ? " without progress" : "")}");
                return;
            }
        }
    }

    /// <summary>Decisions/s over the whole backlog and over each half (the ledger grows as it goes).</summary>
    public void Report(int detections, double producedSeconds, TimeSpan cpu)
    {
        lock (_gate)
        {
            if (_measured.Count == 0)
            {
                Console.WriteLine("planner (Kafka): no decisions");
                return;
            }
            _measured.Sort();
            var total = Bench.Ms(_measured[^1] - Start) / 1000;
            var half = _measured.Count / 2;
            var first = Bench.Ms(_measured[half] - Start) / 1000;
            var second = Bench.Ms(_measured[^1] - _measured[half]) / 1000;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"planner (Kafka): {detections} detections (produced in {producedSeconds:F2} s) -> {_commands} commands + {_skipped} skipped = {_measured.Count} decisions " +
                $"in {total:F2} s = {_measured.Count / total:F0} decisions/s (first half {half / first:F0}/s, second half {(_measured.Count - half) / second:F0}/s); " +
                $"whole process CPU {cpu.TotalMilliseconds * 1000 / _measured.Count:F0} µs per decision (planner, broker, bench producer and reader)"));
            Console.WriteLine($"RESULT planner-kafka decisions/s = {_measured.Count / total:F0}");
        }
    }
}
