using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Demo;

/// <summary>Everything one demo run observed, in Unix ns of this host's clock.</summary>
internal sealed record DemoOutcome(
    int BenignPid,
    int NoisyPid,
    CpuList Pool,
    CpuList Shared,
    long GoAtNs,
    DemoObserver Observed,
    string NoisyCpusAfter,
    string BenignCpusAfter,
    bool NoisyIsolated,
    bool BenignUntouched)
{
    /// <summary>The VM-level case (<c>demo --vm</c>), or null for the core-level case study.</summary>
    public VmRun? Vm { get; init; }

    public bool Succeeded => Vm is null
        ? NoisyIsolated && BenignUntouched
        : Vm.Continues && NoisyResult?.Result.status == ResultStatus.Succeeded;

    /// <summary>Whether a record is about the suspect: the noisy process, or the guest in the VM case.</summary>
    public bool IsSubject(EntityRef? e) => e is not null && (Vm is null ? e.pid == NoisyPid : e.vm == Vm.Name);

    public (long AtNs, Detection Detection)? NoisyDetection =>
        Observed.Detections.Where(d => IsSubject(d.Detection.entity)).Select(d => ((long, Detection)?)d).FirstOrDefault();

    /// <summary>The first move of the suspect (a target agent's <c>receive</c> command is its helper, not the move).</summary>
    public (long AtNs, IsolationCommand Command)? NoisyCommand =>
        Observed.Commands.Where(c => IsSubject(c.Command.entity) && c.Command.action != Actions.Receive)
            .Select(c => ((long, IsolationCommand)?)c).FirstOrDefault();

    /// <summary>The outcome of the suspect's first move: its source agent's result.</summary>
    public (long AtNs, IsolationResult Result)? NoisyResult =>
        Observed.Results.Where(r => IsSubject(r.Result.entity) && !IsReceive(r.Result.commandId))
            .Select(r => ((long, IsolationResult)?)r).FirstOrDefault();

    /// <summary>The target agent's report on receiving the suspect, when there was one.</summary>
    public (long AtNs, IsolationResult Result)? ReceiveResult =>
        Observed.Results.Where(r => IsSubject(r.Result.entity) && IsReceive(r.Result.commandId))
            .Select(r => ((long, IsolationResult)?)r).FirstOrDefault();

    private static bool IsReceive(string commandId) => commandId.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal);

    /// <summary>Milliseconds from the start of the noisy workload's storm (VM case: the pipeline's start) to <paramref name="ns"/>.</summary>
    public double Ms(long ns) => (ns - GoAtNs) / 1e6;
}

/// <summary>What the VM case saw of the guest: where it ran and whether its heartbeat went on after the move.</summary>
/// <param name="Name">VM name.</param>
/// <param name="MemoryMb">Guest RAM.</param>
/// <param name="SourceAgent">Hypervisor agent (and host id) the guest started on.</param>
/// <param name="TargetAgent">The other hypervisor agent.</param>
/// <param name="BeatAtSource">Last heartbeat seen at the source before the result.</param>
/// <param name="BeatAtResult">Last heartbeat at the destination when the result arrived.</param>
/// <param name="BeatAfter">A later heartbeat at the destination, or null when none came.</param>
/// <param name="SourceExited">The source QEMU process is gone.</param>
internal sealed record VmRun(string Name, int MemoryMb, string SourceAgent, string TargetAgent, long? BeatAtSource,
    long? BeatAtResult, long? BeatAfter, bool SourceExited)
{
    /// <summary>The guest kept beating at the destination after the move, and no longer runs at the source.</summary>
    public bool Continues => BeatAfter is not null && SourceExited;
}
