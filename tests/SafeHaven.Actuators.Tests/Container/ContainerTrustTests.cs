using System.Diagnostics;
using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>An agent running as root acts only on state directories nobody else can write.</summary>
public sealed class ContainerTrustTests : IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly string _root = Path.Join("/tmp", "shtr-" + Guid.NewGuid().ToString("N")[..8]);
    // The agents' clock: commands are issued and checked for their deadline on it, whatever the machine's load.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    private string Dir(string path, UnixFileMode mode)
    {
        var dir = Path.Join(_root, path);
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, mode);
        return dir;
    }

    [Theory]
    [InlineData("")]
    [InlineData("containers")]
    [InlineData("incoming")]
    [InlineData("outgoing")]
    public void A_site_directory_its_group_or_others_can_write_is_refused(string sub)
    {
        var root = Dir("s", Private);
        var dir = sub.Length == 0 ? root : Dir(Path.Join("s", sub), Private);
        File.SetUnixFileMode(dir, Private | UnixFileMode.GroupWrite | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);

        var refused = Assert.Throws<ArgumentException>(() => new ContainerSite("host-a", root));

        Assert.Contains($"state directory {dir} is writable by its group or by others (mode 770)", refused.Message, StringComparison.Ordinal);
        File.SetUnixFileMode(dir, Private | UnixFileMode.OtherWrite);
        Assert.Throws<ArgumentException>(() => new ContainerSite("host-a", root));
        File.SetUnixFileMode(dir, Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        Assert.Null(new ContainerSite("host-a", root).Load("web"));
    }

    [Fact]
    public void A_site_directory_that_is_a_file_is_refused()
    {
        var root = Dir("s", Private);
        File.WriteAllText(Path.Join(root, "incoming"), "");

        Assert.Contains("incoming is not a directory", Assert.Throws<ArgumentException>(() => new ContainerSite("host-a", root)).Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_site_directory_of_another_user_is_refused()
    {
        Skip.IfNot(Environment.UserName == "root", "giving a directory to another user (chown) needs root");
        var root = Dir("s", Private);
        var containers = Dir(Path.Join("s", "containers"), Private);
        using (var chown = Process.Start("/bin/chown", ["65534", containers]))
        {
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }

        var refused = Assert.Throws<ArgumentException>(() => new ContainerSite("host-a", root));

        Assert.Contains($"{containers} is owned by uid 65534, not by this agent's effective uid 0", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_root_someone_else_made_after_the_site_was_built_is_refused_on_first_use()
    {
        var site = new ContainerSite("host-a", Path.Join(_root, "late"));
        var root = Dir("late", Private | UnixFileMode.OtherWrite);
        var record = new ContainerRecord
        {
            Spec = new ContainerSpec { Name = "web", Command = ["/bin/sleep", "1"] }, InitPid = 1234, InitStartTime = 1, LogFile = site.LogOf("web"),
        };

        Assert.Contains(root, Assert.Throws<InvalidOperationException>(() => site.Load("web")).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => site.Save(record));
        Assert.Throws<InvalidOperationException>(() => site.Names());
        Assert.False(Directory.Exists(site.Containers) && File.Exists(Path.Join(site.Containers, "web.json")), "a record was written into an untrusted root");
    }

    [Fact]
    public async Task A_target_directory_made_untrusted_after_the_agent_started_fails_the_move_with_a_result()
    {
        var a = Path.Join(_root, "a");
        var b = Dir("b", Private);
        using var criu = new FakeCriu(Dir("bin", Private));
        var web = criu.Start(new ContainerSite("host-a", a), "web");
        using var agent = new ContainerActuator(new ContainerActuatorOptions { Id = "host-a", Agents = { ["host-a"] = a, ["host-b"] = b }, Criu = criu.Options(CriuHost.UnusedPorts) }, _time);
        File.SetUnixFileMode(b, Private | UnixFileMode.OtherWrite);
        var now = _time.NowNs();

        var result = await agent.ExecuteAsync(new IsolationCommand
        {
            commandId = "cmd-1", entity = new EntityRef { datacenter = "dc", host = "h", container = "web" }, level = Levels.Container,
            action = Actions.Isolate, source = "host-a", target = "host-b", issuedAtNs = now, deadlineNs = now + 60_000_000_000, reasons = [], signature = [],
        });

        Assert.True(result.status == ResultStatus.Failed, result.error);
        Assert.Contains($"state directory {b} is writable by its group or by others", result.error, StringComparison.Ordinal);
        Assert.EndsWith("(container at host-a)", result.error, StringComparison.Ordinal);
        Assert.True(FakeCriu.Runs(web.InitPid));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
