namespace SafeHaven.Actuators.Container;

/// <summary>What a container move did (or one half of it); the phases are those of <c>IsolationResult.phases</c>.</summary>
public sealed record ContainerMigrationResult
{
    /// <summary>Moved, restored and verified at the target, and the source copy is gone.</summary>
    public bool Succeeded { get; init; }

    /// <summary>Why it failed, or null.</summary>
    public string? Error { get; init; }

    /// <summary>The agent the container runs at now, or <c>unknown</c> when neither side can tell.</summary>
    public required string ContainerAt { get; init; }

    /// <summary>Host pid of the container's init where it runs now, when known.</summary>
    public int? InitPid { get; init; }

    /// <summary>
    /// prepare (target's page server up), dump (freeze → images written; in page-server mode every page has
    /// reached the target by then), transfer (metadata images handed over), restore, postcopy (lazy mode: restore
    /// → last page served), verify, release (source copy gone), in ns; only those reached.
    /// </summary>
    public Dictionary<string, long> PhasesNs { get; init; } = [];

    /// <summary>From the start of the dump to a verified target and a released source (ns); prepare excluded.</summary>
    public long TotalNs { get; init; }

    /// <summary>From the freeze at the source to the restored tree running at the target (ns), when both ends were seen here.</summary>
    public long? DowntimeNs { get; init; }

    /// <summary>How the pages travelled.</summary>
    public CriuPageMode Mode { get; init; }

    /// <summary>Bytes of page images the target received (page-server mode; 0 in lazy mode, where pages move on demand).</summary>
    public long PageBytes { get; init; }

    /// <summary>Bytes of the other images (process, file, mount metadata) handed to the target.</summary>
    public long MetadataBytes { get; init; }

    /// <summary>All image bytes moved.</summary>
    public long ImageBytes => PageBytes + MetadataBytes;

    /// <summary>Heartbeats seen at the target during verification (first, last), when the container has a heartbeat file.</summary>
    public (long First, long Last)? Heartbeats { get; init; }

    /// <summary>Stopwatch timestamp of the freeze (source half), for the downtime when both halves ran in one process.</summary>
    internal long? FrozenAt { get; init; }

    /// <summary>Stopwatch timestamp of the restore's end (target half).</summary>
    internal long? RestoredAt { get; init; }
}
