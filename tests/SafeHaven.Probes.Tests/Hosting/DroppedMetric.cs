using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using SafeHaven.Probes.Hosting.Delivery;

namespace SafeHaven.Probes.Tests.Hosting;

/// <summary>Sums <c>safehaven.probe.samples.dropped</c> for one client id, by reason.</summary>
internal sealed class DroppedMetric : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _byReason = new(StringComparer.Ordinal);

    public DroppedMetric(string clientId)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ProbeMetrics.MeterName && instrument.Name == ProbeMetrics.SamplesDroppedName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        // Tests run in parallel and share the static meter: count only this test's sink.
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? client = null, reason = null;
            foreach (var tag in tags)
            {
                if (tag.Key == ProbeMetrics.ClientIdTag)
                {
                    client = tag.Value as string;
                }
                else if (tag.Key == ProbeMetrics.ReasonTag)
                {
                    reason = tag.Value as string;
                }
            }
            if (client == clientId)
            {
                _byReason.AddOrUpdate(reason ?? "?", value, (_, sum) => sum + value);
            }
        });
        _listener.Start();
    }

    public long Total => _byReason.Values.Sum();

    public long this[string reason] => _byReason.GetValueOrDefault(reason);

    public void Dispose() => _listener.Dispose();
}
