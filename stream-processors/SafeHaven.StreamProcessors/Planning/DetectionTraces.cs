using System.Diagnostics;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Tracing;

namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// The trace context each recent detection arrived with, so that a command planned for it later — a detection that
/// waited for its actuator's or its process's inventory record, a send re-issued on expiry — continues the detection's
/// trace instead of starting a new one (docs/OPERATIONS.md, "Traces"). Bounded: the oldest context is forgotten first.
/// </summary>
/// <remarks>Only the planner's thread calls it. Remembers nothing while no listener samples the planner's spans.</remarks>
internal sealed class DetectionTraces(int capacity = DetectionTraces.DefaultCapacity)
{
    /// <summary>How many detections' contexts are kept: above the planner's waiting bound (1,000).</summary>
    public const int DefaultCapacity = 4096;

    private readonly Dictionary<string, ActivityContext> _byDetection = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    /// <summary>How many contexts are held.</summary>
    public int Count => _byDetection.Count;

    /// <summary>Keeps <paramref name="parent"/>, the context the detection record carried, under its id.</summary>
    public void Remember(string detectionId, ActivityContext parent)
    {
        if (!_byDetection.TryAdd(detectionId, parent))
        {
            return; // a redelivery: the first record's trace stands
        }
        _order.Enqueue(detectionId);
        while (_order.Count > capacity)
        {
            _byDetection.Remove(_order.Dequeue());
        }
    }

    /// <summary>
    /// A plan span for <paramref name="decision"/> under its detection's remembered context, when it is sent outside any
    /// span (a retry or an expiry) and names a remembered detection; null otherwise, and then nothing changes.
    /// </summary>
    public Activity? Continue(PlanDecision decision)
    {
        if (Activity.Current is not null || _byDetection.Count == 0)
        {
            return null;
        }
        var detectionId = decision.Command?.detectionId ?? decision.Receive?.detectionId;
        return detectionId is not null && _byDetection.TryGetValue(detectionId, out var parent)
            ? SafeHavenActivity.Planner.StartActivity(SafeHavenActivity.Plan, ActivityKind.Consumer, parent)
            : null;
    }
}
