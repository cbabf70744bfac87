using System.Diagnostics.Metrics;

namespace SafeHaven.Probes.Hosting.Delivery;

/// <summary>Names of the probe's metrics, for exporters (e.g. OpenTelemetry's <c>AddMeter</c>).</summary>
public static class ProbeMetrics
{
    /// <summary>The meter every probe instrument belongs to.</summary>
    public const string MeterName = "SafeHaven.Probe";

    /// <summary>
    /// Counter of samples that never reached the broker, tagged <see cref="ReasonTag"/> and
    /// <see cref="ClientIdTag"/>.
    /// </summary>
    public const string SamplesDroppedName = "safehaven.probe.samples.dropped";

    /// <summary>Why a sample was dropped: <c>buffer_full</c>, <c>delivery_failed</c> or <c>shutdown</c>.</summary>
    public const string ReasonTag = "reason";

    /// <summary>The Kafka client id of the sink that dropped it (OpenTelemetry messaging convention).</summary>
    public const string ClientIdTag = "messaging.client.id";

    internal const string BufferFull = "buffer_full";
    internal const string DeliveryFailed = "delivery_failed";
    internal const string Shutdown = "shutdown";

    // One process-wide meter: instruments are cheap to share and listeners find them by name.
    private static readonly Meter Meter = new(MeterName);

    internal static Counter<long> SamplesDropped { get; } = Meter.CreateCounter<long>(
        SamplesDroppedName, unit: "{sample}",
        description: "Samples the probe dropped: buffer full while the broker was unreachable, delivery failed, or left at shutdown.");

    /// <summary>Counter of samples the broker acknowledged, tagged <see cref="ClientIdTag"/>.</summary>
    public const string SamplesPublishedName = "safehaven.probe.samples.published";

    internal static Counter<long> SamplesPublished { get; } = Meter.CreateCounter<long>(
        SamplesPublishedName, unit: "{sample}", description: "Samples the probe published and the broker acknowledged.");

    internal static void RecordPublished(long count, string clientId) =>
        SamplesPublished.Add(count, new KeyValuePair<string, object?>(ClientIdTag, clientId));

    internal static void RecordDropped(long count, string reason, string clientId)
    {
        if (count > 0)
        {
            SamplesDropped.Add(count,
                new KeyValuePair<string, object?>(ReasonTag, reason),
                new KeyValuePair<string, object?>(ClientIdTag, clientId));
        }
    }
}
