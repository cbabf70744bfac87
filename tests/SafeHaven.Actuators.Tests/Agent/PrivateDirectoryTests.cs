using SafeHaven.Actuators.Agent;

namespace SafeHaven.Actuators.Tests.Agent;

public sealed class PrivateDirectoryTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("safehaven-private-");

    [Fact]
    public void A_missing_directory_is_created_for_the_owner_alone()
    {
        var dir = PrivateDirectory.Ensure(Path.Join(_root.FullName, "a", "b"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        Assert.Null(PrivateDirectory.Problem(dir));
    }

    [Fact]
    public void A_directory_others_may_write_or_a_link_is_refused()
    {
        var open = Directory.CreateDirectory(Path.Join(_root.FullName, "open")).FullName;
        File.SetUnixFileMode(open, (UnixFileMode)0b111_111_111);
        Assert.Contains("is writable by its group or by others", Assert.Throws<InvalidOperationException>(() => PrivateDirectory.Ensure(open)).Message, StringComparison.Ordinal);

        var link = Path.Join(_root.FullName, "link");
        Directory.CreateSymbolicLink(link, PrivateDirectory.Ensure(Path.Join(_root.FullName, "real")));
        Assert.Contains("symbolic link", PrivateDirectory.Problem(link), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_directory_of_another_user_is_refused()
    {
        Skip.IfNot(Environment.IsPrivilegedProcess, "only root can give a directory to another user");
        var theirs = PrivateDirectory.Ensure(Path.Join(_root.FullName, "theirs"));
        // 65534 is nobody on Debian.
        var chown = System.Diagnostics.Process.Start("/bin/chown", ["65534", theirs])!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);

        Assert.Equal($"{theirs} is owned by uid 65534, not by this agent's effective uid 0", PrivateDirectory.Problem(theirs));
    }

    public void Dispose() => _root.Delete(recursive: true);
}
