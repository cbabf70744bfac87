using System.Diagnostics;
using Confluent.Kafka;

namespace SafeHaven.Kafka.Tracing;

/// <summary>
/// One <see cref="ActivitySource"/> per role, and the spans of a move's path: samples published (probe) → detect
/// (detector) → plan (planner) → actuate (actuator) → result (docs/OPERATIONS.md, "Traces"). A span exists only while some
/// listener (the OTLP exporter, a test's <see cref="ActivityListener"/>) listens to its role's source: without one
/// every helper here returns null after one check, and no header is read or written.
/// </summary>
public static class SafeHavenActivity
{
    /// <summary>What every role's source name starts with; <c>SafeHaven.*</c> subscribes to them all.</summary>
    public const string SourcePrefix = "SafeHaven.";

    /// <summary>The probe's span: one samples record published; the root of a move's trace.</summary>
    public const string SamplesPublish = "samples publish";

    /// <summary>The detector's consumer span: one samples record evaluated.</summary>
    public const string Detect = "detect";

    /// <summary>The planner's consumer span: one detection (or result) decided on.</summary>
    public const string Plan = "plan";

    /// <summary>The agent's consumer span: one command executed and answered.</summary>
    public const string Actuate = "actuate";

    /// <summary>The probe's source name.</summary>
    public const string ProbeSource = SourcePrefix + "Probe";

    /// <summary>The detector's source name.</summary>
    public const string DetectorSource = SourcePrefix + "Detector";

    /// <summary>The planner's source name.</summary>
    public const string PlannerSource = SourcePrefix + "Planner";

    /// <summary>The agents' source name.</summary>
    public const string ActuatorSource = SourcePrefix + "Actuator";

    private static readonly string? Version = typeof(SafeHavenActivity).Assembly.GetName().Version?.ToString();

    /// <summary>The probe's source (<c>SafeHaven.Probe</c>).</summary>
    public static ActivitySource Probe { get; } = new(ProbeSource, Version);

    /// <summary>The detector's source (<c>SafeHaven.Detector</c>).</summary>
    public static ActivitySource Detector { get; } = new(DetectorSource, Version);

    /// <summary>The planner's source (<c>SafeHaven.Planner</c>).</summary>
    public static ActivitySource Planner { get; } = new(PlannerSource, Version);

    /// <summary>The agents' source (<c>SafeHaven.Actuator</c>: host actuator, hypervisor and container agents).</summary>
    public static ActivitySource Actuator { get; } = new(ActuatorSource, Version);

    /// <summary>Every role's source, for listeners that name them one by one.</summary>
    public static IReadOnlyList<ActivitySource> Sources { get; } = [Probe, Detector, Planner, Actuator];

    /// <summary>True for a role's source, by name (what a listener's <c>ShouldListenTo</c> can test). By name, not by
    /// instance: a listener added first is asked while the sources are being constructed.</summary>
    public static bool IsOurs(ActivitySource source) =>
        source?.Name is ProbeSource or DetectorSource or PlannerSource or ActuatorSource;

    /// <summary>
    /// Starts a consumer span named <paramref name="name"/> on <paramref name="source"/>, the child of the context the
    /// record's <see cref="TraceHeaders.TraceParent"/> header carries; a root span when it carries none or a malformed
    /// one (counted, <see cref="TraceHeaders.MalformedName"/>). Null when nothing listens to the source.
    /// </summary>
    /// <remarks>Only the trace and parent span ids are taken from the header: whether the span is recorded is the
    /// local sampler's decision (see <see cref="TraceHeaders.TryExtract"/>), and nothing else reads the header.</remarks>
    public static Activity? StartConsumer(ActivitySource source, string name, Headers? headers)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.HasListeners())
        {
            return null;
        }
        return TraceHeaders.TryExtract(headers, out var parent)
            ? source.StartActivity(name, ActivityKind.Consumer, parent)
            : source.StartActivity(name, ActivityKind.Consumer);
    }

    /// <summary>Starts a producer span named <paramref name="name"/> on <paramref name="source"/> under the current one; null when nothing listens.</summary>
    public static Activity? StartProducer(ActivitySource source, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.HasListeners() ? source.StartActivity(name, ActivityKind.Producer) : null;
    }
}
