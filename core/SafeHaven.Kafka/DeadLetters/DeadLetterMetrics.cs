using System.Diagnostics.Metrics;

namespace SafeHaven.Kafka.DeadLetters;

/// <summary>
/// Counts of dead letters in this process: those handed to the producer and those that could not be (the record is
/// then lost to operators, but the role goes on). Also exported as instruments of the <c>SafeHaven.Kafka</c> meter.
/// </summary>
public static class DeadLetterMetrics
{
    /// <summary>Counter of records sent to the dead-letter topic, tagged component and topic.</summary>
    public const string SentName = "safehaven.dlq.records";

    /// <summary>Counter of dead letters that could not be produced or were refused by the broker, tagged component and topic.</summary>
    public const string FailedName = "safehaven.dlq.failures";

    private static readonly Meter Meter = new(Clients.LogStartWatch.MeterName);
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

    /// <summary>Counts one dead letter handed to the producer.</summary>
    public static void CountSent(string component, string topic)
    {
        Interlocked.Increment(ref _sent);
        SentCounter.Add(1, new KeyValuePair<string, object?>("component", component), new KeyValuePair<string, object?>("topic", topic));
    }

    /// <summary>Counts one dead letter that could not be produced.</summary>
    public static void CountFailed(string component, string topic)
    {
        Interlocked.Increment(ref _failed);
        FailedCounter.Add(1, new KeyValuePair<string, object?>("component", component), new KeyValuePair<string, object?>("topic", topic));
    }
}
