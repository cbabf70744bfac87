namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// Tests that run storming workloads and move real processes onto the isolation CPU. They run one at a time and
/// alone: an <c>up</c> that watches every process would isolate another test's workload, and two tests cannot
/// share the one pool CPU.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PoolCpuTests
{
    public const string Name = "real processes on the pool CPU";
}
