using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Demo;

/// <summary>
/// Watches the pipeline from outside, as a SIEM would: a separate consumer of samples,
/// detections, commands and results, recording when each record arrived.
/// </summary>
internal sealed class DemoObserver(KafkaClients kafka, Func<long> nowNs)
{
    private readonly Lock _gate = new();

    public List<(long AtNs, CounterSample Sample)> Samples { get; } = [];

    public List<(long AtNs, Detection Detection)> Detections { get; } = [];

    public List<(long AtNs, IsolationCommand Command)> Commands { get; } = [];

    public List<(long AtNs, IsolationResult Result)> Results { get; } = [];

    /// <summary>Consumes until <paramref name="done"/> holds or <paramref name="ct"/> is cancelled.</summary>
    public void Run(Func<DemoObserver, bool> done, CancellationToken ct)
    {
        var t = kafka.Topics;
        using var consumer = new ConsumerBuilder<string, byte[]>(kafka.Consumer("demo-observer-" + Guid.NewGuid().ToString("N"), "demo-observer")).Build();
        consumer.Subscribe([t.Samples, t.Detections, t.Commands, t.Results]);
        var samples = new SamplesTopicReader(kafka.Serdes);
        var detections = kafka.Serdes.Deserializer<Detection>();
        var commands = kafka.Serdes.Deserializer<IsolationCommand>();
        var results = kafka.Serdes.Deserializer<IsolationResult>();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var cr = consumer.Consume(TimeSpan.FromMilliseconds(50));
                lock (_gate)
                {
                    if (cr?.Message?.Value is { } v)
                    {
                        var at = nowNs();
                        if (cr.Topic == t.Samples)
                        {
                            // A probe's batch is one record for many samples: each is observed at the record's arrival.
                            foreach (var sample in samples.Read(v, cr.Topic))
                            {
                                Samples.Add((at, sample));
                            }
                        }
                        else if (cr.Topic == t.Detections)
                        {
                            Detections.Add((at, KafkaSerdes.Decode(detections, v, cr.Topic)));
                        }
                        else if (cr.Topic == t.Commands)
                        {
                            Commands.Add((at, KafkaSerdes.Decode(commands, v, cr.Topic)));
                        }
                        else
                        {
                            Results.Add((at, KafkaSerdes.Decode(results, v, cr.Topic)));
                        }
                    }
                    if (done(this))
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            consumer.Close();
        }
    }
}
