using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests.Proc;

public sealed class DiscoveryFilterTests
{
    private const string Hex64 = "4f1c2d3e4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    private static FakeProc Tree() => new FakeProc()
        .Add(10, "kworker", "0::/\n", uid: 0, kernelThread: true)
        .Add(11, "nginx", $"0::/system.slice/docker-{Hex64}.scope\n", uid: 33)
        .Add(12, "nginx", "0::/system.slice/nginx.service\n", uid: 33)
        .Add(13, "bash", "0::/user.slice/user-1000.slice/session-2.scope\n", uid: 1000)
        .Add(14, "postgres", "9:name=systemd:/system.slice/postgresql@15-main.service\n4:memory:/pg\n0::/\n", uid: 105)
        .Add(15, "init", "0::/lxc.payload.web01/init.scope\n", uid: 0);

    private static int[] Pids(FakeProc proc, DiscoveryFilter filter) =>
        [.. new ProcessDiscovery(filter, new ProcFs(proc.Root)).Discover().Select(p => p.Pid)];

    [Fact]
    public void No_filter_is_every_user_process()
    {
        using var proc = Tree();
        Assert.Equal([11, 12, 13, 14, 15], Pids(proc, DiscoveryFilter.All));
    }

    [Fact]
    public void Each_filter_narrows_and_filters_combine()
    {
        using var proc = Tree();
        Assert.Equal([11, 12], Pids(proc, new DiscoveryFilter { Uids = new HashSet<uint> { 33 } }));
        Assert.Equal([11, 12, 15], Pids(proc, new DiscoveryFilter { Uids = new HashSet<uint> { 33, 0 } }));
        Assert.Equal([11, 12, 14], Pids(proc, new DiscoveryFilter { Cgroups = ["/system.slice"] }));
        Assert.Equal([12], Pids(proc, new DiscoveryFilter { Cgroups = ["/system.slice/nginx.service"] }));
        // Whole segments only: /system.slice/nginx does not take in nginx.service.
        Assert.Empty(Pids(proc, new DiscoveryFilter { Cgroups = ["/system.slice/nginx"] }));
        // v1: any hierarchy's path counts.
        Assert.Equal([14], Pids(proc, new DiscoveryFilter { Cgroups = ["/pg"] }));
        Assert.Equal([11], Pids(proc, new DiscoveryFilter { Containers = [Hex64[..12]] }));
        Assert.Equal([11, 15], Pids(proc, new DiscoveryFilter { Containers = [Hex64, "web01"] }));
        Assert.Empty(Pids(proc, new DiscoveryFilter { Containers = [Hex64[..11]] }));   // too short to be an id prefix
        Assert.Equal([12], Pids(proc, new DiscoveryFilter { Comms = new HashSet<string> { "nginx" }, Cgroups = ["/system.slice/nginx.service"] }));
        Assert.Empty(Pids(proc, new DiscoveryFilter { Pids = new HashSet<int> { 13 }, Uids = new HashSet<uint> { 33 } }));
    }

    [Fact]
    public void Discovery_maps_units_and_cgroup_paths()
    {
        using var proc = Tree();
        var found = new ProcessDiscovery(DiscoveryFilter.All, new ProcFs(proc.Root)).DiscoverDetailed().ToDictionary(p => p.Identity.Pid);
        Assert.Equal(Hex64, found[11].Identity.Container);
        Assert.Null(found[11].Unit);
        Assert.Equal(("/system.slice/nginx.service", "nginx.service"), (found[12].CgroupPath, found[12].Unit));
        // Hybrid host: the v2 root says nothing, the systemd hierarchy does.
        Assert.Equal("postgresql@15-main.service", found[14].Unit);
        Assert.Equal("web01", found[15].Identity.Container);
        Assert.All(found.Values, p => Assert.Null(p.Vm));
    }

    [Fact]
    public void Qemu_is_recognised_only_when_the_exe_link_is_qemu()
    {
        using var proc = new FakeProc()
            .Add(20, "qemu-system-x86", argv: ["/usr/bin/qemu-system-x86_64", "-name", "guest=vm-a,debug-threads=on"])
            .Add(21, "qemu-system-x86", argv: ["qemu-system-x86_64", "-name", "victim"], exe: "/home/eve/spoof")
            .Add(22, "qemu-system-x86", argv: ["qemu-system-x86_64", "-name", "bad name"], exe: "/usr/bin/qemu-system-x86_64 (deleted)");
        var found = new ProcessDiscovery(DiscoveryFilter.All, new ProcFs(proc.Root)).DiscoverDetailed().ToDictionary(p => p.Identity.Pid);
        Assert.Equal("vm-a", found[20].Identity.Vm);
        Assert.Null(found[21].Vm);
        Assert.Null(found[22].Identity.Vm);
        Assert.Contains("not a valid identifier", found[22].Vm!.Note, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/system.slice", "/system.slice", true)]
    [InlineData("/system.slice/a.service", "/system.slice", true)]
    [InlineData("/system.slice2", "/system.slice", false)]
    [InlineData("/anything", "/", true)]
    public void Prefix_matches_whole_segments(string path, string prefix, bool expected) =>
        Assert.Equal(expected, DiscoveryFilter.UnderPrefix(path, prefix));
}
