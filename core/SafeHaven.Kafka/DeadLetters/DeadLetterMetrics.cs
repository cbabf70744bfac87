using System.Diagnostics.Metrics;

namespace SafeHaven.Kafka.DeadLetters;

/// <summary>
/// Counts of dead letters in this process: those handed to the producer (or a stream's dead-letter sink) and those
/// that could not be (the record is then lost to operators, but the role goes on). Also exported as instruments of the
/// <c>SafeHaven.Kafka</c> meter.
/// </summary>
public static class DeadLetterMetrics
{
    /// <summary>Counter of records sent to the dead-letter topic, tagged component, topic and reason (<see cref="ReasonClass"/>).</summary>
    public const string SentName = "safehaven.dlq.records";

    /// <summary>Counter of dead letters that could not be produced or were refused by the broker, tagged component and topic.</summary>
    public const string FailedName = "safehaven.dlq.failures";

    private static readonly Meter Meter = Telemetry.SafeHavenMetrics.Kafka;
    private static readonly Counter<long> SentCounter = Meter.CreateCounter<long>(SentName, unit: "{record}",
        description: "Records a consumer rejected and sent to the dead-letter topic.");
    private static readonly Counter<long> FailedCounter = Meter.CreateCounter<long>(FailedName, unit: "{record}",
        description: "Rejected records whose dead letter could not be produced.");
    private static long _sent;
    private static long _failed;

    /// <summary>Dead letters handed to a producer since the process started.</summary>
    public static long Sent => Interlocked.Read(ref _sent);

    /// <summary>Dead letters that could not be produced since the process started.</summary>
    public static long Failed => Interlocked.Read(ref _failed);

    /// <summary>Counts one dead letter handed to the producer, its reason unknown.</summary>
    public static void CountSent(string component, string topic) => CountSent(component, topic, "");

    /// <summary>Counts one dead letter handed to the producer, its <c>reason</c> tag the class of <paramref name="reason"/>.</summary>
    public static void CountSent(string component, string topic, string reason)
    {
        Interlocked.Increment(ref _sent);
        SentCounter.Add(1, new KeyValuePair<string, object?>("component", component), new KeyValuePair<string, object?>("topic", topic),
            new KeyValuePair<string, object?>("reason", ReasonClass(reason)));
    }

    /// <summary>Counts one dead letter that could not be produced.</summary>
    public static void CountFailed(string component, string topic)
    {
        Interlocked.Increment(ref _failed);
        FailedCounter.Add(1, new KeyValuePair<string, object?>("component", component), new KeyValuePair<string, object?>("topic", topic));
    }

    /// <summary>
    /// A bounded class for a dead letter's free-text reason, so the metric's series stay few: <c>seal</c> (unsigned,
    /// untrusted, bad or misused seal, a probe key speaking for another host), <c>out_of_bounds</c>, <c>undecodable</c>
    /// (the Avro does not decode), <c>invalid</c> (anything else a record was refused for), <c>unknown</c> (no reason).
    /// </summary>
    public static string ReasonClass(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        static bool Has(string s, string part) => s.Contains(part, StringComparison.OrdinalIgnoreCase);
        return reason.Length == 0 ? "unknown"
            : Has(reason, "seal") || Has(reason, "unsigned") || reason.Contains("bad MAC", StringComparison.Ordinal) ? "seal"
            : Has(reason, "out of bounds") ? "out_of_bounds"
            : Has(reason, "decode") || Has(reason, "single-object") || Has(reason, "fingerprint") || Has(reason, "varint")
              || Has(reason, "union branch") || Has(reason, "null value") || Has(reason, "bytes left") || Has(reason, "shorter than") ? "undecodable"
            : "invalid";
    }
}
