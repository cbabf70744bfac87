using System.Diagnostics;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>
/// Key files on disk: <c>keys generate</c> writes the private key 0600 and the public key 0644 whatever the umask, and
/// an actuator refuses (exit 2, naming the file) a trusted key that group or others may write: whoever can write it
/// can make root actuators execute their commands.
/// </summary>
public sealed class KeyFileModeTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-key-modes-");

    [Theory]
    [InlineData("000")]
    [InlineData("022")]
    [InlineData("077")]
    public async Task Generate_writes_0600_and_0644_whatever_the_umask(string umask)
    {
        var dir = Path.Join(_dir.FullName, "u" + umask);
        var info = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"umask {umask} && exec dotnet \"$0\" keys generate --dir \"$1\"");
        info.ArgumentList.Add(CliRunner.Dll);
        info.ArgumentList.Add(dir);
        using var p = Process.Start(info)!;
        var id = (await p.StandardOutput.ReadToEndAsync()).Trim();
        using var deadline = new CancellationTokenSource(Timeout);
        await p.WaitForExitAsync(deadline.Token);

        Assert.True(p.ExitCode == 0, await p.StandardError.ReadToEndAsync());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Join(dir, id + ".key")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(Path.Join(dir, id + ".pub")));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupWrite)]
    [InlineData(UnixFileMode.OtherWrite)]
    public async Task A_trusted_key_writable_by_others_is_refused_with_exit_2_naming_it(UnixFileMode loose)
    {
        var keys = Path.Join(_dir.FullName, "keys");
        var id = (await CliRunner.RunAsync(Timeout, "keys", "generate", "--dir", keys)).Stdout.Trim();
        var pub = Path.Join(keys, id + ".pub");
        File.SetUnixFileMode(pub, File.GetUnixFileMode(pub) | loose);

        foreach (var trusted in new[] { pub, keys })
        {
            var run = await CliRunner.RunAsync(Timeout, "actuate", "--bootstrap", "127.0.0.1:1", "--trusted-keys", trusted);
            Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
            Assert.Contains(pub, run.Stderr, StringComparison.Ordinal);
            Assert.Contains("writable by group or others", run.Stderr, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_trusted_key_directory_writable_by_others_is_refused()
    {
        var keys = Path.Join(_dir.FullName, "open");
        Assert.Equal(0, (await CliRunner.RunAsync(Timeout, "keys", "generate", "--dir", keys)).ExitCode);
        File.SetUnixFileMode(keys, File.GetUnixFileMode(keys) | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);

        var run = await CliRunner.RunAsync(Timeout, "actuate", "--bootstrap", "127.0.0.1:1", "--trusted-keys", keys);

        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains(keys, run.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
