using SafeHaven.Core;

namespace SafeHaven.Linux;

/// <summary>What <see cref="Affinity.SetAllThreads(int, CpuList)"/> did.</summary>
/// <param name="Threads">Threads whose affinity was set (those that exited meanwhile not counted).</param>
/// <param name="Passes">Setting passes made, at most <see cref="Affinity.MaxPasses"/>.</param>
/// <param name="Settled">
/// False when new threads were still appearing after the last pass: the process keeps starting threads, and
/// those started by threads not yet moved may run outside the CPUs (the caller's verification finds them).
/// </param>
public readonly record struct AllThreadsResult(int Threads, int Passes, bool Settled);
