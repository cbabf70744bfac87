using SafeHaven.Actuators.Host.Cpu;

namespace SafeHaven.Actuators.Tests.Host.Cpu;

public sealed class CpusetDetectorTests : IDisposable
{
    private readonly string _mounts = Path.GetTempFileName();

    [Fact]
    public void Detect_prefers_v2_only_when_it_offers_cpuset()
    {
        var detected = CpusetDetector.Detect(Host.UniqueName());
        var v2 = CpusetDetector.HasV2Cpuset("/sys/fs/cgroup") || CpusetDetector.HasV2Cpuset("/sys/fs/cgroup/unified");
        Assert.Equal(v2 ? "cgroup-v2" : "cgroup-v1", detected.Kind);
    }

    [Fact]
    public void Detect_uses_the_v1_cpuset_mount_it_finds()
    {
        File.WriteAllText(_mounts, """
            cgroup2 /nonexistent/unified cgroup2 rw,relatime 0 0
            cgroup /x/cpuset cgroup rw,relatime,cpuset 0 0
            """);
        var detected = Assert.IsType<CgroupV1Cpuset>(CpusetDetector.Detect("sh", _mounts));
        Assert.Equal("/x/cpuset/sh", detected.ParentPath);
    }

    [Fact]
    public void Detect_fails_clearly_without_any_cpuset_hierarchy()
    {
        File.WriteAllText(_mounts, "cgroup /x/cpu cgroup rw,cpu 0 0\n");
        var e = Assert.Throws<PlatformNotSupportedException>(() => CpusetDetector.Detect("sh", _mounts));
        Assert.Contains("cpuset", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => File.Delete(_mounts);
}
