using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests.Proc;

public sealed class ProcessDiscoveryTests
{
    [Fact]
    public void Default_finds_user_processes_and_skips_kernel_threads()
    {
        using var child = ChildProcess.Idle();
        var found = new ProcessDiscovery().Discover();

        Assert.Contains(found, p => p.Pid == child.Pid && p.Comm == "sh");
        Assert.Contains(found, p => p.Pid == Environment.ProcessId);
        Assert.DoesNotContain(found, p => p.Pid == 2); // kthreadd
        // Every kernel thread on this machine is left out (they have no exe).
        var kernelThreads = ProcFs.Default.ListPids().Where(pid => ProcFs.Default.ReadStat(pid) is { IsKernelThread: true }).ToHashSet();
        Assert.NotEmpty(kernelThreads);
        Assert.DoesNotContain(found, p => kernelThreads.Contains(p.Pid));
        var self = found.Single(p => p.Pid == Environment.ProcessId);
        Assert.Equal(ProcFs.Default.ReadStat(Environment.ProcessId)!.Value.StartTime, self.StartTime);
    }

    [Fact]
    public async Task Filters_by_pid_and_comm()
    {
        using var a = ChildProcess.Idle();
        using var b = ChildProcess.PythonScript("import sys; sys.stdin.readline()");
        await Poll.Require(() => ProcFs.Default.ReadStat(b.Pid)?.Comm == "python3", "python3 comm");

        Assert.Equal([a.Pid], new ProcessDiscovery(pids: [a.Pid]).Discover().Select(p => p.Pid));
        var pythons = new ProcessDiscovery(comms: ["python3"]).Discover();
        Assert.Contains(pythons, p => p.Pid == b.Pid);
        Assert.All(pythons, p => Assert.Equal("python3", p.Comm));
        Assert.Empty(new ProcessDiscovery(pids: [a.Pid], comms: ["python3"]).Discover());
        Assert.Empty(new ProcessDiscovery(pids: [2]).Discover());
    }

    [Fact]
    public void Fake_proc_tree_reads_identity_and_container()
    {
        string root = Directory.CreateTempSubdirectory("sh-proc-").FullName;
        try
        {
            void Proc(int pid, string comm, uint flags, string cgroup)
            {
                Directory.CreateDirectory(Path.Combine(root, pid.ToString()));
                File.WriteAllText(Path.Combine(root, $"{pid}", "stat"),
                    $"{pid} ({comm}) S 1 1 1 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 1 0 {pid * 10} 0 0");
                File.WriteAllText(Path.Combine(root, $"{pid}", "cgroup"), cgroup);
            }
            Proc(10, "kthread x", 0x00208040, "0::/\n");
            Proc(11, "app) (1", 0x00400100, "0::/system.slice/docker-" + new string('a', 64) + ".scope\n");
            Proc(12, "plain", 0x00400100, "0::/user.slice\n");

            var found = new ProcessDiscovery(proc: new ProcFs(root)).Discover();

            Assert.Equal(
                [new ProcessIdentity(11, "app) (1", 110, new string('a', 64)), new ProcessIdentity(12, "plain", 120, null)],
                found);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_stat_the_caller_just_read_is_not_read_again()
    {
        string root = Directory.CreateTempSubdirectory("sh-proc-").FullName;
        try
        {
            foreach (int pid in new[] { 12, 13 })
            {
                Directory.CreateDirectory(Path.Combine(root, $"{pid}"));
                File.WriteAllText(Path.Combine(root, $"{pid}", "cgroup"), "0::/user.slice\n");
            }
            File.WriteAllText(Path.Combine(root, "12", "stat"), "12 (on-disk) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 120 0 0");
            // 13 has no stat file at all: only the caller's reading can make it found.
            var fresh = new Dictionary<int, ProcStat>
            {
                [13] = new(13, "fresh", 'S', 4194560, 0, 0, 0, 0, 130, 13),
                [14] = new(14, "zombie", 'Z', 4194560, 0, 0, 0, 0, 140, 14),
            };

            var found = new ProcessDiscovery(pids: [12, 13, 14], proc: new ProcFs(root)).Discover(fresh);

            Assert.Equal([new ProcessIdentity(12, "on-disk", 120, null), new ProcessIdentity(13, "fresh", 130, null)], found);
            // Without it, 13 is gone.
            Assert.Equal([12], new ProcessDiscovery(pids: [12, 13, 14], proc: new ProcFs(root)).Discover().Select(p => p.Pid));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void A_qemu_caught_mid_exec_is_recognised_once_its_argv_appears()
    {
        // Between the kernel swapping exe/comm and writing argv, cmdline reads empty.
        using var proc = new FakeProc().Add(20, "qemu-system-x86", argv: [], exe: "/usr/bin/qemu-system-x86_64");
        var discovery = new ProcessDiscovery(proc: new ProcFs(proc.Root));
        Assert.Null(Assert.Single(discovery.DiscoverDetailed()).Vm);

        File.WriteAllText(Path.Combine(proc.Root, "20", "cmdline"), "/usr/bin/qemu-system-x86_64\0-name\0guest=g1\0");
        Assert.Equal("g1", Assert.Single(discovery.DiscoverDetailed()).Identity.Vm);
    }
}
