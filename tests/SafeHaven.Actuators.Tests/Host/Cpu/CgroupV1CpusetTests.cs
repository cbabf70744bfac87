using System.Globalization;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests.Host.Cpu;

public sealed class CgroupV1CpusetTests : IDisposable
{
    private readonly CgroupV1Cpuset _cpusets = new(parentName: Host.UniqueName());
    private readonly List<BusyProcess> _processes = [];

    private BusyProcess Start(int threads = 4)
    {
        var p = new BusyProcess(threads);
        _processes.Add(p);
        return p;
    }

    private string ChildOf(int pid) => Path.Join(_cpusets.ParentPath, $"w{pid}-{ProcFs.Default.StartTime(pid)}");

    [SkippableFact]
    public void Enrol_creates_the_workload_cpuset_and_moves_every_thread()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start();
        _cpusets.Enrol(p.Pid, Host.Cpu0);

        var child = ChildOf(p.Pid);
        Assert.True(_cpusets.IsEnrolled(p.Pid));
        Assert.Equal(OnlineCpus.Read(), CpuList.Parse(File.ReadAllText(Path.Join(_cpusets.ParentPath, "cpuset.cpus"))));
        Assert.Equal(File.ReadAllText("/sys/fs/cgroup/cpuset/cpuset.mems"), File.ReadAllText(Path.Join(child, "cpuset.mems")));
        var tasks = File.ReadAllLines(Path.Join(child, "tasks")).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToHashSet();
        Assert.Superset(ProcFs.Default.ThreadIds(p.Pid).ToHashSet(), tasks);
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu0, minThreads: 5);
    }

    [SkippableFact]
    public void SetCpus_rewrite_moves_every_thread_and_Remove_returns_them_to_the_parent()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start();
        _cpusets.Enrol(p.Pid, Host.Cpu0);
        _cpusets.SetCpus(p.Pid, Host.Cpu1);
        Assert.Equal(Host.Cpu1, _cpusets.ReadCpus(p.Pid));
        Host.AssertAllThreadsOn(p.Pid, Host.Cpu1, minThreads: 5);

        var child = ChildOf(p.Pid);
        _cpusets.Remove(p.Pid);
        Assert.False(Directory.Exists(child));
        Assert.False(_cpusets.IsEnrolled(p.Pid));
        var parentTasks = File.ReadAllLines(Path.Join(_cpusets.ParentPath, "tasks")).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToHashSet();
        Assert.Contains(p.Pid, parentTasks);
        Assert.Null(_cpusets.ReadCpus(p.Pid));
    }

    [SkippableFact]
    public void Enrol_drops_the_cpuset_of_an_earlier_process_with_the_same_pid()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start(threads: 1);
        _cpusets.Enrol(p.Pid, Host.Cpu0);
        _cpusets.Remove(p.Pid);
        var stale = Path.Join(_cpusets.ParentPath, $"w{p.Pid}-1");
        Directory.CreateDirectory(stale);

        _cpusets.Enrol(p.Pid, Host.Cpu0);
        Assert.False(Directory.Exists(stale));
        Assert.True(Directory.Exists(ChildOf(p.Pid)));
    }

    [SkippableFact]
    public void Kernel_errors_surface_with_their_errno()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start(threads: 1);
        _cpusets.Enrol(p.Pid, Host.Cpu0);
        var offline = CpuList.Of([OnlineCpus.Read().Cpus.Max() + 1]);
        var e = Assert.Throws<CgroupException>(() => _cpusets.SetCpus(p.Pid, offline));
        // A CPU beyond nr_cpu_ids is ERANGE on recent kernels, EINVAL on older ones.
        Assert.Matches("failed: (ERANGE|EINVAL) ", e.Message);
        Assert.NotEqual(0, e.Errno);
        Assert.Contains("cpuset.cpus", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Unenrolled_process_cannot_be_set_and_Cleanup_removes_the_parent()
    {
        Skip.IfNot(Host.CanRun, "needs root, 2 CPUs and the v1 cpuset hierarchy");
        var p = Start(threads: 1);
        Assert.Throws<InvalidOperationException>(() => _cpusets.SetCpus(p.Pid, Host.Cpu1));
        _cpusets.Enrol(p.Pid, Host.Cpu0);
        _cpusets.Cleanup();
        Assert.False(Directory.Exists(_cpusets.ParentPath));
        Assert.Contains(p.Pid, File.ReadAllLines("/sys/fs/cgroup/cpuset/tasks").Select(s => int.Parse(s, CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(4_194_305)]
    public void Invalid_pids_never_reach_a_path(int pid)
    {
        Assert.Throws<ArgumentException>(() => _cpusets.Enrol(pid, Host.Cpu0));
        Assert.Throws<ArgumentException>(() => _cpusets.SetCpus(pid, Host.Cpu0));
        Assert.Throws<ArgumentException>(() => _cpusets.Remove(pid));
        Assert.Throws<ArgumentException>(() => _cpusets.IsEnrolled(pid));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../cpu")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("x\ny")]
    public void Parent_names_outside_the_token_pattern_are_rejected(string name) =>
        Assert.Throws<ArgumentException>(() => new CgroupV1Cpuset(parentName: name));

    [Theory]
    [InlineData("sys/fs/cgroup/cpuset")]
    [InlineData("/sys/fs/cgroup/../cgroup/cpuset")]
    [InlineData("/sys/fs/cgroup/./cpuset")]
    public void Roots_must_be_absolute_and_normalised(string root) =>
        Assert.Throws<ArgumentException>(() => new CgroupV1Cpuset(root, "safehaven"));

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            p.Dispose();
        }
        if (Host.CanRun)
        {
            _cpusets.Cleanup();
        }
    }
}
