using SafeHaven.Cli.Commands;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary><c>safehaven container</c>: bad flags exit 2 naming the flag; the flag → options mapping checks every id and path.</summary>
public sealed class ContainerCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string[], string> BadInput => new()
    {
        { ["--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c"], "--bootstrap" },
        { ["--bootstrap", "127.0.0.1:1", "--container-dir", "/tmp/c"], "--trusted-keys" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--id", "../x"], "--id" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--host", "a b"], "--host" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--datacenter", "d/c"], "--datacenter" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "relative/dir"], "--container-dir" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/../etc"], "--container-dir" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub"], "--container-dir" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--agent", "ct-b"], "--agent" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--agent", "ct b=/tmp/b"], "--agent" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--agent", "ct-b=tmp/b"], "--agent ct-b" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--criu", "criu"], "--criu" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--duration", "soon"], "--duration" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c", "--state-dir", "rel"], "--state-dir" },
        { ["--bootstrap", "127.0.0.1:1", "--trusted-keys", "/nonexistent.pub", "--container-dir", "/tmp/c"], "/nonexistent.pub" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task Bad_input_exits_2_and_names_the_flag(string[] args, string named)
    {
        var run = await CliRunner.RunAsync(Timeout, ["container", .. args]);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}; stderr: {run.Stderr}");
        Assert.Contains(named, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Flags_map_to_agent_directories_criu_and_a_journal()
    {
        var options = ContainerFlags.Options("ct-a", "/run/sh/a", ["ct-b=/run/sh/b", "ct-c=/run/sh/c"], "/opt/criu/criu");
        Assert.Equal("ct-a", options.Id);
        Assert.Equal(new Dictionary<string, string> { ["ct-a"] = "/run/sh/a", ["ct-b"] = "/run/sh/b", ["ct-c"] = "/run/sh/c" }, options.Agents);
        Assert.Equal("/opt/criu/criu", options.Criu.Binary);
        options.Validate();
        Assert.Equal("/var/lib/sh/container-ct-a/executed-commands", ContainerFlags.JournalPath("/var/lib/sh", "ct-a"));
        Assert.Null(ContainerFlags.JournalPath("", "ct-a"));
    }

    [Fact]
    public void Duplicate_agents_and_shared_directories_are_refused()
    {
        Assert.Contains("twice", Assert.Throws<UsageException>(() => ContainerFlags.Options("ct-a", "/a", ["ct-a=/b"], "/c/criu")).Message, StringComparison.Ordinal);
        Assert.Contains("twice", Assert.Throws<UsageException>(() => ContainerFlags.Options("ct-a", "/a", ["ct-b=/b", "ct-b=/c"], "/c/criu")).Message, StringComparison.Ordinal);
        Assert.Contains("share", Assert.Throws<UsageException>(() => ContainerFlags.Options("ct-a", "/a", ["ct-b=/a"], "/c/criu")).Message, StringComparison.Ordinal);
    }
}
