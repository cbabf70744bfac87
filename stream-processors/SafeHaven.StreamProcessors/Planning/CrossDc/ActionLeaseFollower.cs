using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.CrossDc;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// Reads one cluster's <c>action-leases</c> topic from its start, on a thread of its own, and folds every verified
/// record into an <see cref="ActionLeaseBook"/>. A record whose seal fails (unsealed, an untrusted key, a role that may
/// not write leases, altered, a planner key of another datacenter than the lease names) or that does not decode changes
/// nothing and is listed in <see cref="Refused"/>.
/// </summary>
public sealed partial class ActionLeaseFollower : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<long, LeaseVerdict> _verdicts = [];
    private readonly SingleObjectCodec<ActionLease> _codec = new();
    private readonly CrossDcLink _link;
    private readonly ILogger _logger;
    private readonly IConsumer<string, byte[]> _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private long _position;

    /// <summary>Starts following <paramref name="link"/>'s lease topic.</summary>
    public ActionLeaseFollower(CrossDcLink link, ActionLeaseBook book, ILogger logger)
    {
        _link = link ?? throw new ArgumentNullException(nameof(link));
        Book = book;
        _logger = logger;
        _consumer = link.Consumer("leases");
        _consumer.Assign(new TopicPartitionOffset(link.Topics.ActionLeases, 0, Offset.Beginning));
        _thread = new Thread(Run) { IsBackground = true, Name = "safehaven-leases-" + link.Datacenter };
        _thread.Start();
    }

    /// <summary>The folded leases; read it under <see cref="Read{T}"/>.</summary>
    private ActionLeaseBook Book { get; }

    /// <summary>Why each refused record was refused (offset and reason).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Refused { get; } = new();

    /// <summary>Reads the book under its lock.</summary>
    public T Read<T>(Func<ActionLeaseBook, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        lock (_gate)
        {
            return read(Book);
        }
    }

    /// <summary>The verdict of the record at <paramref name="offset"/> once read; null if not read within <paramref name="timeout"/>.</summary>
    public LeaseVerdict? WaitFor(long offset, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (_position <= offset)
            {
                var left = until - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left))
                {
                    return null;
                }
            }
            return _verdicts.TryGetValue(offset, out var v) ? v : LeaseVerdict.Invalid;
        }
    }

    /// <summary>Waits until every lease record written before this call has been folded; false on timeout.</summary>
    public bool CatchUp(TimeSpan timeout)
    {
        var end = _consumer.QueryWatermarkOffsets(new TopicPartition(_link.Topics.ActionLeases, 0), timeout).High.Value;
        return end == 0 || WaitFor(end - 1, timeout) is not null;
    }

    private void Run()
    {
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult<string, byte[]>? record;
            try
            {
                record = _consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException e)
            {
                LogConsumeError(_logger, _link.Datacenter, e.Error.Reason);
                continue;
            }
            if (record is null || record.IsPartitionEOF)
            {
                continue;
            }
            var verdict = Fold(record);
            lock (_gate)
            {
                _verdicts[record.Offset.Value] = verdict;
                _position = record.Offset.Value + 1;
                Monitor.PulseAll(_gate);
            }
        }
    }

    private LeaseVerdict Fold(ConsumeResult<string, byte[]> record)
    {
        var (who, problem) = _link.Verify(Seals.Kinds.ActionLeases, record.Message);
        ActionLease? lease = null;
        if (problem is null && record.Message.Value is { } value)
        {
            try
            {
                lease = _codec.Decode(value);
                // A planner key trusted here speaks for its own datacenter only: a lease (or release) in another's name is forged.
                problem = _link.SpeaksFor(who!, lease.datacenter);
            }
            catch (AvroDecodeException e)
            {
                problem = e.Message;
            }
        }
        if (problem is not null)
        {
            Refused.Enqueue($"offset {record.Offset.Value}: {problem}");
            LogRefused(_logger, _link.Datacenter, record.Offset.Value, problem);
            return LeaseVerdict.Invalid;
        }
        lock (_gate)
        {
            return Book.Apply(record.Message.Key ?? "", lease);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _consumer.Close();
        _consumer.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "action leases of {Datacenter}: record at offset {Offset} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string datacenter, long offset, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "action leases of {Datacenter}: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string datacenter, string reason);
}
