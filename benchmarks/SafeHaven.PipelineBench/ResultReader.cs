using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.PipelineBench;

/// <summary>Reads the agent's results as the planner and a SIEM would, checking each seal, and times the measured batch.</summary>
internal sealed class ResultReader
{
    private readonly Lock _gate = new();
    private readonly List<(IsolationResult Result, long At)> _seen = [];

    public long Start { get; private set; }

    public void MarkStart() => Start = Stopwatch.GetTimestamp();

    public void Read(KafkaClients kafka, CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("bench-result-reader", "bench-result-reader")).Build();
        consumer.Assign(Enumerable.Range(0, Bench.Partitions).Select(p => new TopicPartitionOffset(kafka.Topics.Results, p, Offset.Beginning)));
        var results = kafka.Serdes.Deserializer<IsolationResult>();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var r = consumer.Consume(ct);
                var at = Stopwatch.GetTimestamp();
                // A result the agent did not seal would be dead-lettered by the planner: count none of those.
                kafka.Seals.Require(Seals.Kinds.Results, r.Message);
                var result = KafkaSerdes.Decode(results, r.Message.Value, r.Topic);
                lock (_gate)
                {
                    _seen.Add((result, at));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        consumer.Close();
    }

    private List<(IsolationResult Result, long At)> Of(string prefix)
    {
        lock (_gate)
        {
            return [.. _seen.Where(s => s.Result.commandId.StartsWith(prefix, StringComparison.Ordinal))];
        }
    }

    /// <summary>Waits for <paramref name="count"/> results of a batch while they keep coming at least every <paramref name="seconds"/>.</summary>
    public async Task WaitAsync(string prefix, int count, int seconds, CancellationToken ct)
    {
        var (seen, since) = (0, Stopwatch.GetTimestamp());
        while (seen < count)
        {
            await Task.Delay(10, ct);
            var now = Of(prefix).Count;
            if (now != seen)
            {
                (seen, since) = (now, Stopwatch.GetTimestamp());
            }
            else if (Bench.Ms(Stopwatch.GetTimestamp() - since) > seconds * 1000.0)
            {
                Console.WriteLine($"WARNING: {seen} of {count} results for {prefix} after {seconds} s without progress");
                return;
            }
        }
    }

    public void Report(int n, TimeSpan cpu)
    {
        var measured = Of("c-m-").OrderBy(s => s.At).ToList();
        if (measured.Count == 0)
        {
            Console.WriteLine("actuator (Kafka): no results");
            return;
        }
        var seconds = Bench.Ms(measured[^1].At - Start) / 1000;
        var results = measured.Select(s => s.Result).ToList();
        var totals = results.Select(r => (r.finishedAtNs - r.startedAtNs) / 1e6).Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"actuator (Kafka, real moves): {n} commands -> {measured.Count} results in {seconds:F2} s = {measured.Count / seconds:F0} commands/s; " +
            $"{ActuatorCommands.Statuses(results)}; agent time per command (started -> finished) p50 {Bench.Percentile(totals, 50):F3} ms, " +
            $"so {1000 * seconds / measured.Count - Bench.Percentile(totals, 50):F2} ms of each command's {1000 * seconds / measured.Count:F2} ms is Kafka (consume, decode, result produce and its acknowledgement); " +
            $"whole process CPU {cpu.TotalMilliseconds * 1000 / measured.Count:F0} µs per command"));
        Console.WriteLine($"  phases (ms): {ActuatorCommands.Phases(results)}");
        Console.WriteLine($"RESULT actuator-kafka commands/s = {measured.Count / seconds:F0}");
    }
}
