namespace SafeHaven.StreamProcessors.Planning;

/// <summary>
/// Whether this process's planner acts on detections with what the inventory held when it took the lease: it holds the
/// lease, has rebuilt the ledger, and has read every inventory partition up to its end as of then. Until it has, a
/// detection of a process whose record it has not read yet waits for that record (docs/LEDGER.md), so a run that times
/// the pipeline (the demo) starts only once this is true. Registered by <c>AddSafeHavenPlanner</c>.
/// </summary>
public sealed class PlannerReadiness
{
    private volatile bool _ready;

    /// <summary>True while the planner holds the lease and has read the inventory it found at activation.</summary>
    public bool Ready => _ready;

    internal void Set(bool ready) => _ready = ready;
}
