using System.Diagnostics;

namespace SafeHaven.Actuators.Container;

public static partial class ContainerMigrator
{
    // One source half in progress: what each step of SendAsync learns, for the steps after it and the result.
    private sealed class SourceMove(ContainerSite source, ContainerSite target, string name, string moveId, CriuOptions options, ContainerRecord record)
    {
        public ContainerSite Source { get; } = source;

        public ContainerSite Target { get; } = target;

        public string Name { get; } = name;

        public string MoveId { get; } = moveId;

        public CriuOptions Options { get; } = options;

        public ContainerRecord Record { get; } = record;

        public Handoff Handoff { get; } = new(target.Incoming(name), moveId);

        public string OutDir { get; } = source.Outgoing(name);

        public bool Lazy => Options.Mode == CriuPageMode.LazyPages;

        public Dictionary<string, long> Phases { get; } = [];

        /// <summary>The target's ticket (where the memory goes), once it came.</summary>
        public Ticket? Ticket { get; set; }

        /// <summary>The container's processes: as seen before the freeze, then as frozen.</summary>
        public IReadOnlyList<int> Tree { get; set; } = [];

        /// <summary>The lazy-pages dump that serves the memory in post-copy mode, while it runs.</summary>
        public Process? LazyDump { get; set; }

        /// <summary>When the dump froze the tree (Stopwatch timestamp): the downtime starts there.</summary>
        public long FrozenAt { get; set; }

        public long MetadataBytes { get; set; }

        public ContainerMigrationResult Fail(string at, string error, int? initPid) => Failed(at, error, Phases, Options.Mode, initPid);

        public ContainerMigrationResult Resume(string error) => ResumeSource(Source, Record, Tree, LazyDump, OutDir, error, Phases, Options.Mode);
    }

    // criu resumes the tree itself when a dump fails; SIGCONT covers --leave-stopped after a successful one. The
    // images are of no use once the verdict is known, and hold the tenant's state: they go.
    private static ContainerMigrationResult ResumeSource(ContainerSite source, ContainerRecord record, IReadOnlyList<int> tree, Process? lazyDump,
        string outDir, string error, Dictionary<string, long> phases, CriuPageMode mode)
    {
        if (lazyDump is { HasExited: false })
        {
            lazyDump.Kill(entireProcessTree: true);
            lazyDump.WaitForExit(5000);
        }
        lazyDump?.Dispose();
        // Every process there is now, not only those seen before the freeze: a child forked in between would stay stopped.
        // A failed SIGCONT shows as a stopped init below.
        ProcessTree.TrySignal(ProcessTree.Of(record.InitPid).Union(tree), ProcessTree.SigCont);
        var running = record.IsRunning && ProcFs.Default.State(record.InitPid) is not 'T';
        TryDelete(outDir);
        return Failed(running ? source.AgentId : "unknown",
            $"{error}; {(running ? "container kept running at the source" : "and the source copy could not be resumed")}", phases, mode, record.InitPid);
    }
}
