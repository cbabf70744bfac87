using System.Collections.Concurrent;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;

namespace SafeHaven.PipelineBench;

/// <summary>The planner bench's inventory topic, written as probes and actuators write theirs.</summary>
internal static class PlannerInventory
{
    /// <summary>The process every host has for the warm-up detections.</summary>
    public const int WarmPid = 500;

    /// <summary>Measured detection <paramref name="j"/> is of a process of its own on host j % hosts.</summary>
    public static int MeasuredPid(int j, int hosts) => 2000 + (j / hosts);

    /// <summary>
    /// Every process record first, then every actuator record, each sealed by its host's probe or actuator key.
    /// Returns one host per inventory partition whose actuator record is the last record there: once the planner
    /// has placed a detection on each of them, it has read the whole inventory (a detection waits for both).
    /// </summary>
    public static IReadOnlyList<int> Publish(KafkaClients kafka, PlannerFleet fleet, PlannerPlan plan)
    {
        using var producer = new ProducerBuilder<string, byte[]>(kafka.Producer("bench-inventory")).Build();
        var serializer = kafka.Serdes.Serializer<EntityState>();
        var topic = kafka.Topics.Inventory;
        var actuators = new List<(int Host, Message<string, byte[]> Message)>(plan.Hosts);
        Message<string, byte[]> Sealed(SafeHaven.Security.RecordSigner key, EntityState state)
        {
            var value = serializer.Serialize(state, new SerializationContext(MessageComponentType.Value, topic));
            return new Message<string, byte[]> { Key = state.entityId, Value = value, Headers = Seals.Headers(key, Seals.Kinds.Inventory, state.entityId, value) };
        }
        fleet.ForEachHost((h, probe, actuator) =>
        {
            producer.Produce(topic, Sealed(probe, PlannerFleet.Process(h, WarmPid)));
            for (var j = h; j < plan.Detections; j += plan.Hosts)
            {
                producer.Produce(topic, Sealed(probe, PlannerFleet.Process(h, MeasuredPid(j, plan.Hosts))));
            }
            // Sealed now, while the host's key lives; sent after every process record.
            actuators.Add((h, Sealed(actuator, fleet.Actuator(h))));
        });
        producer.Flush(TimeSpan.FromSeconds(60));
        var last = new ConcurrentDictionary<int, (long Offset, int Host)>();
        foreach (var (h, message) in actuators)
        {
            producer.Produce(topic, message, r =>
            {
                if (!r.Error.IsError)
                {
                    last.AddOrUpdate(r.Partition.Value, (r.Offset.Value, h), (_, old) => r.Offset.Value > old.Offset ? (r.Offset.Value, h) : old);
                }
            });
        }
        producer.Flush(TimeSpan.FromSeconds(60));
        return [.. last.Values.Select(v => v.Host)];
    }

    /// <summary>Fails loudly when the mock dropped the oldest records of a topic the planner wrote or read (5 MiB per partition).</summary>
    public static void CheckNothingDropped(string bootstrap, TopicNames topics)
    {
        using var probe = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "bench-probe" }).Build();
        foreach (var (topic, partitions) in new[] { (topics.Inventory, Bench.Partitions), (topics.Detections, Bench.Partitions),
                     (topics.Commands, Bench.Partitions), (topics.Placements, 1) })
        {
            long high = 0;
            for (var p = 0; p < partitions; p++)
            {
                var w = probe.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
                if (w.Low.Value != 0)
                {
                    throw new InvalidOperationException($"{topic}[{p}] starts at offset {w.Low.Value}: the mock dropped records; use fewer");
                }
                high += w.High.Value;
            }
            Console.WriteLine($"{topic}: {high} records, none dropped");
        }
    }
}
