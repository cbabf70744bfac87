using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests.Proc;

public sealed class CgroupPathsTests
{
    [Theory]
    [InlineData("/system.slice/nginx.service", "nginx.service")]
    [InlineData("/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", "foo.service")]
    [InlineData("/system.slice/systemd-fsck@dev-disk-by\\x2duuid-1.service", "systemd-fsck@dev-disk-by\\x2duuid-1.service")]
    [InlineData("/system.slice/docker.service/extra", "docker.service")]
    [InlineData("/user.slice/user-0.slice/session-3.scope", null)]
    [InlineData("/system.slice/bad name.service", null)]
    [InlineData("/", null)]
    [InlineData(null, null)]
    public void Systemd_unit_is_the_innermost_service(string? path, string? unit) =>
        Assert.Equal(unit, ContainerIds.SystemdUnit(path));

    [Theory]
    [InlineData("0::/system.slice/a.service\n", "/system.slice/a.service")]
    [InlineData("9:name=systemd:/system.slice/b.service\n4:memory:/x\n0::/\n", "/system.slice/b.service")]
    [InlineData("4:memory:/x\n3:cpu:/y\n", "/x")]
    [InlineData("0::/\n", "/")]
    [InlineData("", null)]
    public void Primary_path_prefers_v2_then_systemd(string file, string? expected) =>
        Assert.Equal(expected, ContainerIds.PrimaryPath(file));

    [Fact]
    public void Paths_keeps_colons_inside_paths() =>
        Assert.Equal(["/a:b", "/"], ContainerIds.Paths("4:memory:/a:b\n0::/\n"));
}
