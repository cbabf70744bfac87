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
    public bool Succeeded => NoisyIsolated && BenignUntouched;

    public (long AtNs, Detection Detection)? NoisyDetection =>
        Observed.Detections.Where(d => d.Detection.entity.pid == NoisyPid).Select(d => ((long, Detection)?)d).FirstOrDefault();

    public (long AtNs, IsolationCommand Command)? NoisyCommand =>
        Observed.Commands.Where(c => c.Command.entity.pid == NoisyPid).Select(c => ((long, IsolationCommand)?)c).FirstOrDefault();

    public (long AtNs, IsolationResult Result)? NoisyResult =>
        Observed.Results.Where(r => r.Result.entity.pid == NoisyPid).Select(r => ((long, IsolationResult)?)r).FirstOrDefault();

    /// <summary>Milliseconds from the start of the noisy workload's storm to <paramref name="ns"/>.</summary>
    public double Ms(long ns) => (ns - GoAtNs) / 1e6;
}
