using System.Diagnostics;
using Confluent.Kafka;

namespace SafeHaven.Kafka.Tracing;

/// <summary>
/// The one <see cref="ActivitySource"/> of every role, and the spans of a move's path: sample published → detection →
/// decision → command executed → result (docs/OPERATIONS.md, "Traces"). A span exists only while some listener (the
/// OTLP exporter, a test's <see cref="ActivityListener"/>) samples this source: without one every helper here returns
/// null after one check and nothing is parsed or written.
/// </summary>
public static class SafeHavenActivity
{
    /// <summary>The source name to subscribe to.</summary>
    public const string SourceName = "SafeHaven";

    /// <summary>The probe's producer span: one sample batch record published.</summary>
    public const string SamplesPublish = "samples publish";

    /// <summary>The detector's consumer span: one samples record evaluated.</summary>
    public const string Detect = "detect";

    /// <summary>The planner's consumer span: one detection (or result) decided on.</summary>
    public const string Plan = "plan";

    /// <summary>The agent's consumer span: one command executed and answered.</summary>
    public const string Actuate = "actuate";

    /// <summary>The source every SafeHaven span comes from.</summary>
    public static ActivitySource Source { get; } = new(SourceName, typeof(SafeHavenActivity).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// Starts a consumer span named <paramref name="name"/>, the child of the context the record's
    /// <see cref="TraceHeaders.TraceParent"/> header carries; a root span when it carries none or a malformed one.
    /// Null when nothing listens.
    /// </summary>
    public static Activity? StartConsumer(string name, Headers? headers)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        return TraceHeaders.TryExtract(headers, out var parent)
            ? Source.StartActivity(name, ActivityKind.Consumer, parent)
            : Source.StartActivity(name, ActivityKind.Consumer);
    }

    /// <summary>Starts a producer span named <paramref name="name"/> under the current one; null when nothing listens.</summary>
    public static Activity? StartProducer(string name) =>
        Source.HasListeners() ? Source.StartActivity(name, ActivityKind.Producer) : null;
}
