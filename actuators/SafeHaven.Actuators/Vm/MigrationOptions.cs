namespace SafeHaven.Actuators.Vm;

/// <summary>How a QMP live migration runs.</summary>
public sealed record MigrationOptions
{
    /// <summary>Switch to post-copy (default); false runs pure pre-copy.</summary>
    public bool Postcopy { get; init; } = true;

    /// <summary>
    /// Complete pre-copy passes to let run before switching to post-copy. 0 (default) asks for the switch as soon as
    /// the first pass runs, so it lands after one pre-copy iteration (at most 50 ms in QEMU): that iteration sends what
    /// it can in bulk, which is cheaper than pages placed one by one in post-copy. A guest whose whole rest fits the
    /// downtime limit by then completes in pre-copy instead, and the outcome says so.
    /// </summary>
    public int PrecopyPassesBeforePostcopy { get; init; }

    /// <summary>Bandwidth cap in bytes/s for post-copy, and for pre-copy unless <see cref="PrecopyBandwidthBytesPerSecond"/> is set; QEMU's default (32 MiB/s) would make a 2 GB move take a minute.</summary>
    public long MaxBandwidthBytesPerSecond { get; init; } = 16L << 30;

    /// <summary>
    /// A lower cap for pre-copy only, in bytes/s (null: <see cref="MaxBandwidthBytesPerSecond"/>). Where the switch to
    /// post-copy is a second call that lands late (libvirt's <c>virsh migrate-postcopy</c>), a small guest may be across in
    /// pre-copy before it: a cap keeps the first pass long enough, and post-copy still runs at the full rate.
    /// </summary>
    public long? PrecopyBandwidthBytesPerSecond { get; init; }

    /// <summary>The pre-copy cap in force, in bytes/s.</summary>
    public long PrecopyBandwidth => PrecopyBandwidthBytesPerSecond ?? MaxBandwidthBytesPerSecond;

    /// <summary>Pre-copy's allowed stop time in ms; small, since pre-copy downtime is what post-copy avoids.</summary>
    public int DowntimeLimitMs { get; init; } = 30;

    /// <summary>Upper bound on the migration itself; past it, a pre-copy is cancelled and the guest stays at the source.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>How long the destination has to show a running guest with a growing heartbeat.</summary>
    public TimeSpan VerifyTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Throws unless every limit is usable.</summary>
    /// <exception cref="ArgumentException">Names the setting and the problem.</exception>
    public void Validate()
    {
        const string section = "SafeHaven:Hypervisor:Migration";
        if (PrecopyPassesBeforePostcopy is < 0 or > 1000)
        {
            throw new ArgumentException($"{section}:{nameof(PrecopyPassesBeforePostcopy)} must be 0..1000, not {PrecopyPassesBeforePostcopy}");
        }
        if (MaxBandwidthBytesPerSecond <= 0)
        {
            throw new ArgumentException($"{section}:{nameof(MaxBandwidthBytesPerSecond)} must be positive, not {MaxBandwidthBytesPerSecond}");
        }
        if (PrecopyBandwidthBytesPerSecond is <= 0)
        {
            throw new ArgumentException($"{section}:{nameof(PrecopyBandwidthBytesPerSecond)} must be positive when set, not {PrecopyBandwidthBytesPerSecond}");
        }
        if (DowntimeLimitMs is < 1 or > 60_000)
        {
            throw new ArgumentException($"{section}:{nameof(DowntimeLimitMs)} must be 1..60000 ms, not {DowntimeLimitMs}");
        }
        if (Timeout <= TimeSpan.Zero || VerifyTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{section}:{nameof(Timeout)} and {nameof(VerifyTimeout)} must be positive");
        }
    }
}

/// <summary>What a migration did; the phases are those of <c>IsolationResult.phases</c>.</summary>
public sealed record MigrationOutcome
{
    /// <summary>Migrated and verified on the destination.</summary>
    public bool Succeeded { get; init; }

    /// <summary>Why it failed, or null.</summary>
    public string? Error { get; init; }

    /// <summary>Where the guest runs now: <c>destination</c>, <c>source</c> or <c>split</c> (post-copy broke mid-way).</summary>
    public string GuestAt { get; init; } = "source";

    /// <summary>setup, precopy, switchover, postcopy, verify (ns); only those reached.</summary>
    public Dictionary<string, long> PhasesNs { get; init; } = [];

    /// <summary>From the first QMP command to migration completed (ns), verification excluded.</summary>
    public long TotalNs { get; init; }

    /// <summary>Destination RESUME − source STOP (ns), when both were seen.</summary>
    public long? DowntimeNs { get; init; }

    /// <summary>Bytes the source reported transferred.</summary>
    public long BytesTransferred { get; init; }

    /// <summary><c>postcopy</c> when the switch to post-copy happened, else <c>precopy</c>.</summary>
    public string Mode { get; init; } = "precopy";

    /// <summary>Heartbeat numbers seen on the destination during verification (first, last), when checked.</summary>
    public (long First, long Last)? DestinationHeartbeats { get; init; }
}
