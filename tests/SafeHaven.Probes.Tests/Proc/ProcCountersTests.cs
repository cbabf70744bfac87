using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests.Proc;

public sealed class ProcCountersTests
{
    [Fact]
    public async Task Deltas_of_voluntary_switches_and_faults()
    {
        using var child = ChildProcess.PythonScript("import mmap, time\nwhile True:\n m = mmap.mmap(-1, 1 << 20)\n m.write(b'x' * (1 << 20))\n m.close()\n time.sleep(0.001)");
        var pc = new ProcCounters(ProcFs.Default, child.Pid,
            [("proc:voluntary_ctxt_switches", "voluntary_ctxt_switches"), ("proc:minflt", "minflt"), ("proc:utime", "utime")]);

        Assert.Empty(pc.Read()!); // baseline only
        long switches = 0, faults = 0;
        await Poll.Require(() =>
        {
            var d = pc.Read()!;
            Assert.Equal(3, d.Count);
            switches += d["proc:voluntary_ctxt_switches"];
            faults += d["proc:minflt"];
            return switches > 50 && faults > 1000;
        }, "switches and faults to accumulate");

        child.KillAndWait();
        Assert.Null(pc.Read());
    }

    [Fact]
    public void Unknown_field_is_rejected() =>
        Assert.Throws<ArgumentException>(() => new ProcCounters(ProcFs.Default, 1, [("proc:rss", "rss")]));
}
