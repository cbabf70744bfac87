using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Host;

/// <summary>Common checks and a uniquely named v1 cpuset parent per test.</summary>
internal static class Host
{
    public static readonly CpuList Cpu0 = CpuList.Parse("0");
    public static readonly CpuList Cpu1 = CpuList.Parse("1");


    public static bool CanRun => Environment.UserName == "root"
        && File.Exists(Path.Join(CgroupV1Cpuset.DefaultRoot, "cpuset.cpus"))
        && CpuList.Parse("0-1").IsSubsetOf(OnlineCpus.Read());

    public static string UniqueName() => "sh-test-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Cpus_allowed_list of every thread of <paramref name="pid"/>.</summary>
    public static Dictionary<int, CpuList> ThreadCpus(int pid) =>
        ProcFs.Default.ThreadIds(pid).Select(t => (t, ProcFs.Default.ThreadCpusAllowed(pid, t))).Where(x => x.Item2 is not null)
            .ToDictionary(x => x.t, x => x.Item2!);

    public static void AssertAllThreadsOn(int pid, CpuList cpus, int minThreads)
    {
        var threads = ThreadCpus(pid);
        Assert.True(threads.Count >= minThreads, $"expected at least {minThreads} threads, saw {threads.Count}");
        Assert.All(threads, t => Assert.True(t.Value.Equals(cpus), $"thread {t.Key} allowed on {t.Value}, expected {cpus}"));
    }
}
