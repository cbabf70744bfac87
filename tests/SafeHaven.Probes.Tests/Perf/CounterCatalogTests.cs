using SafeHaven.Probes.Perf;

namespace SafeHaven.Probes.Tests.Perf;

public sealed class CounterCatalogTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("sh-tracing-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    [Theory]
    [InlineData("context-switches", CounterSource.Software, 1u, 3ul)]
    [InlineData("cs", CounterSource.Software, 1u, 3ul)]
    [InlineData("cpu-migrations", CounterSource.Software, 1u, 4ul)]
    [InlineData("page-faults", CounterSource.Software, 1u, 2ul)]
    [InlineData("faults", CounterSource.Software, 1u, 2ul)]
    [InlineData("minor-faults", CounterSource.Software, 1u, 5ul)]
    [InlineData("major-faults", CounterSource.Software, 1u, 6ul)]
    [InlineData("task-clock", CounterSource.Software, 1u, 1ul)]
    [InlineData("alignment-faults", CounterSource.Software, 1u, 7ul)]
    [InlineData("emulation-faults", CounterSource.Software, 1u, 8ul)]
    [InlineData("cycles", CounterSource.Hardware, 0u, 0ul)]
    [InlineData("instructions", CounterSource.Hardware, 0u, 1ul)]
    [InlineData("cache-references", CounterSource.Hardware, 0u, 2ul)]
    [InlineData("cache-misses", CounterSource.Hardware, 0u, 3ul)]
    [InlineData("branch-instructions", CounterSource.Hardware, 0u, 4ul)]
    [InlineData("branch-misses", CounterSource.Hardware, 0u, 5ul)]
    [InlineData("bus-cycles", CounterSource.Hardware, 0u, 6ul)]
    [InlineData("ref-cycles", CounterSource.Hardware, 0u, 9ul)]
    [InlineData("raw:0x1a2B", CounterSource.Raw, 4u, 0x1a2bul)]
    [InlineData("raw:0xffffffffffffffff", CounterSource.Raw, 4u, ulong.MaxValue)]
    public void Resolves_perf_names(string name, CounterSource source, uint type, ulong config)
    {
        Assert.True(CounterCatalog.TryResolve(name, out var spec, out string error), error);
        Assert.Equal(new PerfEventSpec(name, source, type, config), spec);
    }

    [Theory]
    [InlineData("proc:voluntary_ctxt_switches")]
    [InlineData("proc:nonvoluntary_ctxt_switches")]
    [InlineData("proc:minflt")]
    [InlineData("proc:majflt")]
    [InlineData("proc:utime")]
    [InlineData("proc:stime")]
    public void Resolves_proc_names(string name)
    {
        Assert.True(CounterCatalog.TryResolve(name, out var spec, out string error), error);
        Assert.Equal(CounterSource.Proc, spec.Source);
        Assert.Equal(name["proc:".Length..], spec.ProcField);
        Assert.False(spec.IsPerf);
    }

    [Theory]
    [InlineData("bogus-counter", "bogus-counter")]
    [InlineData("", "empty")]
    [InlineData("Context-Switches", "Context-Switches")]
    [InlineData("raw:1234", "raw:0xNNNN")]
    [InlineData("raw:0x", "raw:0xNNNN")]
    [InlineData("raw:0x12345678901234567", "raw:0xNNNN")]
    [InlineData("raw:0xZZ", "raw:0xNNNN")]
    [InlineData("tp:sched", "tp:subsystem:name")]
    [InlineData("tp:../../etc:passwd", "tp:subsystem:name")]
    [InlineData("tp:sched:sched/../switch", "tp:subsystem:name")]
    [InlineData("tp:sched:", "tp:subsystem:name")]
    [InlineData("proc:rss", "proc:rss")]
    [InlineData("proc:", "unknown /proc field")]
    public void Rejects_bad_names_naming_them(string name, string expectedInError)
    {
        Assert.False(CounterCatalog.TryResolve(name, out _, out string error));
        Assert.Contains(expectedInError, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Tracepoint_id_comes_from_tracefs_and_falls_back_to_debugfs()
    {
        string tracefs = Path.Combine(_tmp, "tracing"), debugfs = Path.Combine(_tmp, "debug", "tracing");
        Directory.CreateDirectory(Path.Combine(debugfs, "events", "sched", "sched_switch"));
        File.WriteAllText(Path.Combine(debugfs, "events", "sched", "sched_switch", "id"), "317\n");
        string[] roots = [tracefs, debugfs];

        Assert.True(CounterCatalog.TryResolve("tp:sched:sched_switch", roots, out var spec, out string error), error);
        Assert.Equal(new PerfEventSpec("tp:sched:sched_switch", CounterSource.Tracepoint, 2, 317), spec);

        Assert.False(CounterCatalog.TryResolve("tp:sched:no_such_event", roots, out _, out error));
        Assert.Contains("no tracepoint sched:no_such_event", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Tracepoint_without_tracefs_says_so()
    {
        string[] roots = [Path.Combine(_tmp, "none")];
        Assert.False(CounterCatalog.TryResolve("tp:sched:sched_switch", roots, out _, out string error));
        Assert.Contains("tracefs is not mounted", error, StringComparison.Ordinal);
    }
}
