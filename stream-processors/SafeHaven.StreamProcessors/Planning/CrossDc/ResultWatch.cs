using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// Waits for the result of one command on a cluster's <c>results</c> topic, read from the end offsets at creation (so
/// create it before the command goes out). Only a result sealed by the command's own actuator counts.
/// </summary>
internal sealed class ResultWatch : IDisposable
{
    private readonly CrossDcLink _link;
    private readonly string _commandId;
    private readonly string _actuator;
    private readonly IConsumer<string, byte[]> _consumer;
    private readonly SingleObjectCodec<IsolationResult> _codec = new();
    private readonly TimeProvider _time;

    public ResultWatch(CrossDcLink link, string commandId, string actuator, TimeProvider time)
    {
        (_link, _commandId, _actuator, _time) = (link, commandId, actuator, time);
        _consumer = link.Consumer("results");
        using var admin = new AdminClientBuilder(link.Kafka.Admin("safehaven-crossdc-meta")).Build();
        var partitions = admin.GetMetadata(link.Topics.Results, TimeSpan.FromSeconds(10)).Topics[0].Partitions.Select(p => p.PartitionId);
        _consumer.Assign(partitions.Select(p => new TopicPartitionOffset(link.Topics.Results, p,
            _consumer.QueryWatermarkOffsets(new TopicPartition(link.Topics.Results, p), TimeSpan.FromSeconds(10)).High)));
    }

    /// <summary>
    /// The result, or null when none arrived before <paramref name="untilNs"/> (Unix ns, on the planner's clock, the one the
    /// commands' deadlines are on). Called again after a null, it goes on from where it stopped.
    /// </summary>
    public Task<IsolationResult?> ResultAsync(long untilNs, CancellationToken ct) => ConsumeLoop.OnOwnThread(() =>
    {
        while (_time.NowNs() < untilNs && !ct.IsCancellationRequested)
        {
            if (_consumer.Consume(TimeSpan.FromMilliseconds(100)) is not { IsPartitionEOF: false } record || record.Message.Key != _commandId)
            {
                continue;
            }
            if (_link.Verify(Seals.Kinds.Results, record.Message) is { Who: { } who } && who.Subject == _actuator)
            {
                return _codec.Decode(record.Message.Value);
            }
        }
        return (IsolationResult?)null;
    }, ct);

    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}
