using SafeHaven.Actuators.Vm;
using SafeHaven.Cli.Commands;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary><c>safehaven hypervisor</c>: bad flags exit 2 naming the flag; the flag → options mapping checks every id and path.</summary>
public sealed class VmHypervisorCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string[], string> BadInput => new()
    {
        { ["--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g"], "--bootstrap" },
        { ["--bootstrap", "127.0.0.1:1", "--guest-dir", "/tmp/g"], "--trusted-keys" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g", "--id", "../x"], "--id" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g", "--host", "a b"], "--host" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "relative/dir"], "--guest-dir" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub"], "--guest-dir" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g", "--agent", "hv-b"], "--agent" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g", "--agent", "hv-b=/tmp/a,b"], "--agent hv-b" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g", "--duration", "soon"], "--duration" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g", "--state-dir", "rel"], "--state-dir" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--guest-dir", "/tmp/g"], "/nonexistent.pub" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task Bad_input_exits_2_and_names_the_flag(string[] args, string named)
    {
        var run = await CliRunner.RunAsync(Timeout, ["hypervisor", .. args]);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}; stderr: {run.Stderr}");
        Assert.Contains(named, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Flags_map_to_agent_directories_and_a_journal()
    {
        var options = HypervisorFlags.Options("hv-a", "/run/sh/a", ["hv-b=/run/sh/b", "hv-c=/run/sh/c"]);
        Assert.Equal("hv-a", options.Id);
        Assert.Equal(new Dictionary<string, string> { ["hv-a"] = "/run/sh/a", ["hv-b"] = "/run/sh/b", ["hv-c"] = "/run/sh/c" }, options.Agents);
        options.Validate();
        Assert.Equal("/var/lib/sh/hypervisor-hv-a/executed-commands", HypervisorFlags.JournalPath("/var/lib/sh", "hv-a"));
        Assert.Null(HypervisorFlags.JournalPath("", "hv-a"));
    }

    [Fact]
    public void Duplicate_agents_and_overlong_directories_are_refused()
    {
        Assert.Contains("twice", Assert.Throws<UsageException>(() => HypervisorFlags.Options("hv-a", "/a", ["hv-a=/b"])).Message, StringComparison.Ordinal);
        Assert.Contains("twice", Assert.Throws<UsageException>(() => HypervisorFlags.Options("hv-a", "/a", ["hv-b=/b", "hv-b=/c"])).Message, StringComparison.Ordinal);
        // A socket path inside it would not fit sockaddr_un.
        var longDir = "/" + new string('d', 90);
        Assert.Contains("--guest-dir", Assert.Throws<UsageException>(() => HypervisorFlags.Options("hv-a", longDir, [])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Libvirt_daemons_are_given_per_agent_and_checked_against_the_allow_list()
    {
        var options = HypervisorFlags.Options("hv-a", "/tmp/a", ["hv-b=/tmp/b"]);
        HypervisorFlags.Libvirt(options, VmBackends.Libvirt, ["hv-a=qemu+unix:///system?socket=/tmp/a/sock", "hv-b=qemu+tls://hv-b/system"]);
        Assert.Equal((VmBackends.Libvirt, "qemu+tls://hv-b/system"), (options.Backend, options.Libvirt["hv-b"]));

        var missing = HypervisorFlags.Options("hv-a", "/tmp/a", ["hv-b=/tmp/b"]);
        Assert.Contains("--libvirt has no daemon URI for agent 'hv-b'",
            Assert.Throws<UsageException>(() => HypervisorFlags.Libvirt(missing, VmBackends.Libvirt, ["hv-a=qemu:///system"])).Message, StringComparison.Ordinal);
        var shell = HypervisorFlags.Options("hv-a", "/tmp/a", []);
        Assert.Contains("is not qemu:///system",
            Assert.Throws<UsageException>(() => HypervisorFlags.Libvirt(shell, VmBackends.Libvirt, ["hv-a=qemu:///system;reboot"])).Message, StringComparison.Ordinal);
        var qmp = HypervisorFlags.Options("hv-a", "/tmp/a", []);
        Assert.Contains("needs --backend libvirt",
            Assert.Throws<UsageException>(() => HypervisorFlags.Libvirt(qmp, VmBackends.Qmp, ["hv-a=qemu:///system"])).Message, StringComparison.Ordinal);
    }
}
