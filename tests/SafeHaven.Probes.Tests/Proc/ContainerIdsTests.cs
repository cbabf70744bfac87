using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests.Proc;

public sealed class ContainerIdsTests
{
    private const string Hex64 = "4f1c2d3e4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    [Theory]
    [InlineData("0::/system.slice/docker-" + Hex64 + ".scope", Hex64)]
    [InlineData("12:memory:/docker/" + Hex64, Hex64)]
    [InlineData("11:cpu,cpuacct:/docker/" + Hex64 + "/nested", Hex64)]
    [InlineData("0::/machine.slice/libpod-" + Hex64 + ".scope/container", Hex64)]
    [InlineData("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + Hex64 + ".scope", Hex64)]
    [InlineData("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + Hex64 + ".scope", Hex64)]
    [InlineData("0::/lxc/web01", "web01")]
    [InlineData("4:memory:/lxc/db_2/ns", "db_2")]
    [InlineData("0::/lxc.payload.mybox/init.scope", "mybox")]
    public void Finds_container_ids(string line, string expected) =>
        Assert.Equal(expected, ContainerIds.FromCgroupFile(line + "\n"));

    [Theory]
    [InlineData("0::/")]
    [InlineData("0::/user.slice/user-0.slice/session-3.scope")]
    [InlineData("4:memory:/process_api/dc7beebd8b25cf5da04b4ee887250c31")]
    [InlineData("0::/system.slice/docker.service")]
    [InlineData("0::/docker/not-hex")]
    [InlineData("")]
    public void Host_processes_have_none(string text) => Assert.Null(ContainerIds.FromCgroupFile(text));

    [Fact]
    public void Any_line_of_a_v1_file_counts()
    {
        string file = $"9:name=systemd:/\n8:pids:/\n4:memory:/docker/{Hex64}\n0::/\n";
        Assert.Equal(Hex64, ContainerIds.FromCgroupFile(file));
    }
}
