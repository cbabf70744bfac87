namespace SafeHaven.Cli.Tests.Commands;

/// <summary>Command-signing keys on the command line: generation, rotation, and refusal to start without them.</summary>
public sealed class KeysCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-cli-keys-");

    [Fact]
    public async Task Generate_twice_then_list_shows_both_keys_newest_first()
    {
        var first = await CliRunner.RunAsync(Timeout, "keys", "generate", "--dir", _dir.FullName);
        var second = await CliRunner.RunAsync(Timeout, "keys", "generate", "--dir", _dir.FullName);
        var list = await CliRunner.RunAsync(Timeout, "keys", "list", "--dir", _dir.FullName);

        Assert.Equal(0, first.ExitCode);
        Assert.Matches("^[0-9a-f]{16}$", first.Stdout.Trim());
        Assert.NotEqual(first.Stdout, second.Stdout);
        var lines = list.Stdout.Trim().Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.Contains(lines, l => l == $"public\t{first.Stdout.Trim()}");
        Assert.Contains(lines, l => l == $"public\t{second.Stdout.Trim()}");
    }

    [Fact]
    public async Task A_sample_master_enrols_hosts_whose_keys_only_their_probe_uses_and_a_bad_subject_exits_2()
    {
        var detectors = Path.Join(_dir.FullName, "detectors");
        var master = await CliRunner.RunAsync(Timeout, "keys", "sample-master", "--dir", detectors);
        Assert.Equal(0, master.ExitCode);
        var masterFile = Path.Join(detectors, master.Stdout.Trim() + ".mac");
        var probeDir = Path.Join(_dir.FullName, "h1");
        var enrol = await CliRunner.RunAsync(Timeout, "keys", "enrol", "--master", masterFile, "--subject", "dc1/h1", "--dir", probeDir);
        var bad = await CliRunner.RunAsync(Timeout, "keys", "enrol", "--master", masterFile, "--subject", "dc1/../h1", "--dir", probeDir);

        Assert.Equal(0, enrol.ExitCode);
        Assert.Equal(Path.Join(probeDir, master.Stdout.Trim() + ".hostmac"), enrol.Stdout.Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(enrol.Stdout.Trim()));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("DATACENTER/HOST", bad.Stderr, StringComparison.Ordinal);
        // The MAC key does not replace the probe's Ed25519 key (inventory): one speaking for another host is refused.
        await CliRunner.RunAsync(Timeout, "keys", "generate", "--dir", probeDir, "--role", "probe", "--subject", "dc1/h2");
        var wrongHost = await CliRunner.RunAsync(Timeout, "probe", "--bootstrap", "127.0.0.1:1", "--host", "h1", "--datacenter", "dc1", "--signing-key", probeDir, "--duration", "1s");
        Assert.Equal(2, wrongHost.ExitCode);
        Assert.Contains("speaks for 'dc1/h2', not 'dc1/h1'", wrongHost.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("detect", "samples (written by probe)")]
    [InlineData("detect --with-planner", "samples (written by probe); detections (written by detector); inventory (written by probe or actuator); results (written by actuator)")]
    [InlineData("plan", "detections (written by detector); inventory (written by probe or actuator); results (written by actuator)")]
    public async Task A_consuming_role_without_its_producers_keys_refuses_to_start_unless_told_which_kinds_to_accept_unsealed(string verb, string missing)
    {
        Assert.Equal(0, (await CliRunner.RunAsync(Timeout, "keys", "generate", "--dir", _dir.FullName)).ExitCode);
        string[] Args(params string[] extra) => verb.StartsWith("detect", StringComparison.Ordinal)
            ? [.. verb.Split(' '), "--bootstrap", "127.0.0.1:1", "--rules", ExampleRules(), "--signing-key", _dir.FullName, "--duration", "1s", .. extra]
            : ["plan", "--bootstrap", "127.0.0.1:1", "--signing-key", _dir.FullName, "--duration", "1s", .. extra];

        var refused = await CliRunner.RunAsync(Timeout, Args());
        var unknown = await CliRunner.RunAsync(Timeout, Args("--allow-unsealed", "samples,commands"));
        var partly = await CliRunner.RunAsync(Timeout, Args("--allow-unsealed", "detections"));

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains($"no trusted key for {missing}", refused.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--allow-unsealed: unknown record kind 'commands'", unknown.Stderr, StringComparison.Ordinal);
        // One kind allowed is not all of them: still refused, naming only the rest.
        Assert.Equal(2, partly.ExitCode);
        Assert.DoesNotContain("detections (written by", partly.Stderr, StringComparison.Ordinal);
        // With a key of every producing role enrolled, it gets past the check (and then fails to reach the broker).
        foreach (var (role, subject) in new[] { ("probe", "local/h1"), ("actuator", "h1"), ("detector", "detector") })
        {
            Assert.Equal(0, (await CliRunner.RunAsync(Timeout, "keys", "generate", "--dir", _dir.FullName, "--role", role, "--subject", subject)).ExitCode);
        }
        // Past the check, every role's start first waits out its warm-up against the unreachable broker (detector,
        // planner and projector: ≈65 s in all on this machine), so this run gets a longer bound than the refusals.
        var enrolled = await CliRunner.RunAsync(TimeSpan.FromMinutes(4), Args());
        Assert.DoesNotContain("no trusted key", enrolled.Stderr, StringComparison.Ordinal);
        Assert.NotEqual(2, enrolled.ExitCode);
    }

    [Fact]
    public async Task Detect_without_a_signing_key_exits_2()
    {
        var run = await CliRunner.RunAsync(Timeout, "detect", "--bootstrap", "127.0.0.1:1", "--rules", ExampleRules());
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--signing-key", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detect_with_a_missing_key_file_exits_2_naming_it()
    {
        var missing = Path.Combine(_dir.FullName, "absent.key");
        var run = await CliRunner.RunAsync(Timeout, "detect", "--bootstrap", "127.0.0.1:1", "--rules", ExampleRules(), "--signing-key", missing);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains(missing, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Actuate_without_trusted_keys_exits_2()
    {
        var run = await CliRunner.RunAsync(Timeout, "actuate", "--bootstrap", "127.0.0.1:1");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--trusted-keys", run.Stderr, StringComparison.Ordinal);
    }

    private static string ExampleRules([System.Runtime.CompilerServices.CallerFilePath] string here = "")
    {
        var dir = new DirectoryInfo(Path.GetDirectoryName(here)!);
        while (!File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
        {
            dir = dir.Parent!;
        }
        return Path.Combine(dir.FullName, "examples", "rules", "covert-channel.yaml");
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
