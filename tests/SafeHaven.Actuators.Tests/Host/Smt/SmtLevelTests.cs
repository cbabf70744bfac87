using SafeHaven.Actuators.Host.Smt;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Host.Smt;

/// <summary>The SMT level: core scheduling through prctl, run for real; where the machine lacks it, the errno is asserted and the rest skips saying why.</summary>
public sealed class SmtLevelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sh-smt-").FullName;

    [Fact]
    public void The_probe_names_smt_active_when_it_is_zero()
    {
        Directory.CreateDirectory(Path.Join(_dir, "smt"));
        File.WriteAllText(Path.Join(_dir, "smt", "active"), "0\n");
        var s = SchedCore.Probe(_dir);
        Assert.False(s.Available);
        Assert.Equal($"no SMT: {Path.Join(_dir, "smt", "active")} = 0", s.Reason);
        Assert.Equal(Levels.Smt, s.Level);
    }

    [Fact]
    public void Without_smt_active_the_probe_reads_the_sibling_lists()
    {
        foreach (var (cpu, siblings) in new[] { (0, "0"), (1, "1") })
        {
            Directory.CreateDirectory(Path.Join(_dir, $"cpu{cpu}", "topology"));
            File.WriteAllText(Path.Join(_dir, $"cpu{cpu}", "topology", "thread_siblings_list"), siblings + "\n");
        }
        var s = SchedCore.Probe(_dir);
        Assert.False(s.Available);
        Assert.StartsWith("no SMT: ", s.Reason, StringComparison.Ordinal);
        Assert.Contains("every thread_siblings_list has one CPU", s.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Creating_a_cookie_for_a_real_process_works_or_reports_the_kernels_errno()
    {
        using var p = new BusyProcess(threads: 1);
        var outcome = new SmtIsolator().Isolate(p.Pid, "g1");
        var errno = SchedCore.Cookie(0, out _);
        if (errno == 0)
        {
            Assert.True(outcome.Succeeded, outcome.Error);
            Assert.NotEqual(0UL, SchedCore.CookieOf(p.Pid));
        }
        else
        {
            // This machine (kernel 6.18 without CONFIG_SCHED_CORE): EINVAL; a kernel with it but no SMT: ENODEV.
            Assert.False(outcome.Succeeded);
            Assert.Equal($"prctl(PR_SCHED_CORE, CREATE, {p.Pid}) failed: {(errno == 22 ? "EINVAL" : errno == 19 ? "ENODEV" : $"errno {errno}")}", outcome.Error);
            Assert.True(outcome.PhasesNs.ContainsKey("prctl"));
        }
    }

    [SkippableFact]
    public void Members_of_a_group_share_one_cookie_and_release_clears_it()
    {
        var support = SchedCore.Probe();
        Skip.IfNot(support.Available, support.Reason);
        using var a = new BusyProcess(threads: 2);
        using var b = new BusyProcess(threads: 2);
        var smt = new SmtIsolator();
        Assert.True(smt.Isolate(a.Pid, "g1").Succeeded);
        Assert.True(smt.Isolate(b.Pid, "g1").Succeeded);
        Assert.Equal(SchedCore.CookieOf(a.Pid), SchedCore.CookieOf(b.Pid));
        Assert.True(smt.Release(b.Pid, "g1").Succeeded);
        Assert.Equal(0UL, SchedCore.CookieOf(b.Pid));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
