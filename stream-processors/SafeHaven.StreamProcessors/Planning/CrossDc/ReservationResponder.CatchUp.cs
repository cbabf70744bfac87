using Confluent.Kafka;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

// A restarted responder reads the log from its start, where a request comes before its answer: the requests it reads
// below the log's end at start wait until that end is read, so every answer already written is known before any of
// them is answered (one answer per request, across restarts).
public sealed partial class ReservationResponder
{
    private long _caughtUpAt;
    private List<(SlotReservation Request, string? Impostor)>? _backlog;

    // Learns where the log ended when this responder started; false when stopped before the broker answered.
    private bool StartCatchUp()
    {
        var partition = new TopicPartition(_link.Topics.Reservations, 0);
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _caughtUpAt = _consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(5)).High.Value;
                _backlog = _caughtUpAt > 0 ? [] : null;
                return true;
            }
            catch (KafkaException e)
            {
                LogError(_logger, _link.Datacenter, "reading where the reservations log ends: " + e.Message);
            }
        }
        return false;
    }

    // After the record at offset: once the log's end at start is read, the waiting requests are answered, in order.
    private void EndCatchUpAt(long offset)
    {
        if (_backlog is not { } waiting || offset + 1 < _caughtUpAt)
        {
            return;
        }
        _backlog = null;
        foreach (var (request, impostor) in waiting)
        {
            try
            {
                AnswerOnce(request, impostor);
            }
            catch (Exception e) when (e is ProduceException<string, byte[]> or KafkaException)
            {
                // Unanswered: its requester's wait ends in a refusal by timeout, and its move out is tried again later.
                LogError(_logger, _link.Datacenter, $"request {request.requestId}: {e.Message}");
            }
        }
    }
}
