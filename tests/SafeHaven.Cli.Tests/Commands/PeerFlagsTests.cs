using SafeHaven.Security;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>
/// The planner's peer datacenters (<c>--peer</c>, <c>--peer-keys</c>, <c>--peer-cluster</c>, <c>SafeHaven:Planner:Peers</c>)
/// through the real CLI: every bad value exits 2 naming the flag (or the key and file), before anything connects.
/// </summary>
public sealed class PeerFlagsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly DirectoryInfo _keys = Directory.CreateTempSubdirectory("safehaven-peer-keys-");
    private readonly DirectoryInfo _agentOnly = Directory.CreateTempSubdirectory("safehaven-peer-agent-");

    public PeerFlagsTests()
    {
        SigningKeys.Generate(_keys.FullName);
        SigningKeys.Generate(_agentOnly.FullName, KeyRoles.Actuator, "hv9-agent");
    }

    [Theory]
    [InlineData("--peer dc2", "--peer dc2: expected DATACENTER=VALUE")]
    [InlineData("--peer dc/2=127.0.0.1:9092", "--peer dc/2=127.0.0.1:9092: 'dc/2' is not a valid datacenter id")]
    [InlineData("--peer dc2=127.0.0.1", "--peer dc2=127.0.0.1: '127.0.0.1' is not host:port")]
    [InlineData("--peer dc2=127.0.0.1:9092;sasl.password=x", "is not host:port")]
    [InlineData("--peer dc2=h1:9092,:9093", "':9093' is not host:port")]
    [InlineData("--peer dc2=h1:70000", "'h1:70000' is not host:port")]
    [InlineData("--peer dc2=h1:9092 --peer dc2=h2:9092", "--peer dc2=h2:9092: datacenter dc2 is given twice")]
    [InlineData("--peer dc2=h1:9092", "--peer-keys: peer dc2 needs the directory")]
    [InlineData("--peer dc2=h1:9092 --peer-keys dc3=KEYS", "--peer-keys dc3=KEYS: dc3 is not a peer")]
    [InlineData("--peer dc2=h1:9092 --peer-keys dc2=/nonexistent/keys", "--peer-keys: dc2=/nonexistent/keys: no such directory")]
    [InlineData("--peer dc2=h1:9092 --peer-keys dc2=AGENT", "no planner public key there")]
    [InlineData("--peer dc2=h1:9092 --peer-keys dc2=KEYS --peer-cluster dc2=bad/id", "--peer-cluster dc2=bad/id: 'bad/id' is not a valid cluster id")]
    [InlineData("--peer dc2=h1:9092 --peer-keys dc2=KEYS --peer-prefix dc2=bad/prefix", "--peer-prefix dc2=bad/prefix: Invalid topic prefix 'bad/prefix'")]
    [InlineData("--peer dc2=h1:9092 --peer-keys dc2=KEYS --peer-prefix dc3=dc3.", "--peer-prefix dc3=dc3.: dc3 is not a peer")]
    [InlineData("--peer dc2=h1:9092 --peer-keys dc2=KEYS --peer-prefix dc2=", "--peer-prefix dc2=: expected DATACENTER=VALUE")]
    [InlineData("--datacenter dc1 --peer dc1=h1:9092", "--peer dc1=h1:9092: dc1 is this planner's own datacenter")]
    [InlineData("--datacenter ../x --peer dc2=h1:9092", "--datacenter: '../x' is not a valid datacenter id")]
    public async Task A_bad_peer_value_exits_2_naming_the_flag(string flags, string expected)
    {
        var run = await Plan(null, Args(flags));
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains(Expand(expected), run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_peer_in_the_config_file_exits_2_naming_key_and_file()
    {
        using var file = new CliRunner.TempFile($"SafeHaven:\n  Planner:\n    Datacenter: dc1\n    Peers:\n      - Datacenter: dc2\n" +
            $"        BootstrapServers: \"h1:9092;x\"\n        TrustedKeys: \"{_keys.FullName}\"\n");
        var run = await Plan(file.Path, []);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("SafeHaven:Planner:Peers:0:BootstrapServers", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(file.Path, run.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("        TopicPrefix: \"dc2 x.\"\n", "SafeHaven:Planner:Peers:0:TopicPrefix: Invalid topic prefix 'dc2 x.'")]
    [InlineData("        Security:\n          SecurityProtocol: sasl_ssl\n          SaslMechanism: SCRAM-SHA-512\n",
        "SafeHaven:Planner:Peers:0:Security:SaslUsername (the default; not set in FILE): peer dc2: is required with sasl_ssl")]
    [InlineData("        Security:\n          SecurityProtocol: sasl_plaintext\n          SaslMechanism: SCRAM-SHA-512\n          SaslUsername: u\n          SaslPasswordFile: /nonexistent/pw\n",
        "SafeHaven:Planner:Peers:0:Security:SaslPasswordFile (in FILE): peer dc2:")]
    [InlineData("        Security:\n          SecurityProtocol: plaintext\n          SslCaLocation: /etc/ca.pem\n",
        "SafeHaven:Planner:Peers:0:Security:SslCaLocation (in FILE): peer dc2: applies only with an ssl or sasl_ssl security protocol")]
    public async Task A_bad_peer_prefix_or_security_in_the_config_file_exits_2_naming_key_and_file(string lines, string expected)
    {
        using var file = new CliRunner.TempFile($"SafeHaven:\n  Planner:\n    Datacenter: dc1\n    Peers:\n      - Datacenter: dc2\n" +
            $"        BootstrapServers: \"h1:9092\"\n        TrustedKeys: \"{_keys.FullName}\"\n" + lines);
        var run = await Plan(file.Path, []);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains(expected.Replace("FILE", file.Path, StringComparison.Ordinal), run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lease_no_longer_than_the_command_ttl_exits_2_naming_the_key()
    {
        using var file = new CliRunner.TempFile("SafeHaven:\n  Planner:\n    CommandTtl: \"00:00:10\"\n    CrossDcLease: \"00:00:10\"\n");
        var run = await Plan(file.Path, Args("--datacenter dc1 --peer dc2=h1:9092 --peer-keys dc2=KEYS"));
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("SafeHaven:Planner:CrossDcLease", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detect_without_its_planner_refuses_peer_flags()
    {
        using var rules = new CliRunner.TempFile("rules:\n  - name: storm\n    counter: context-switches\n    threshold: 1000\n    scope: core\n");
        var run = await CliRunner.RunAsync(Timeout, ["detect", "--bootstrap", "127.0.0.1:9", "--rules", rules.Path, "--signing-key", _keys.FullName, .. Args("--peer dc2=h1:9092")]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("use them with plan, up or detect --with-planner", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_with_a_peer_but_no_signing_key_exits_2_saying_to_pass_one()
    {
        using var rules = new CliRunner.TempFile("rules:\n  - name: storm\n    counter: context-switches\n    threshold: 1000\n    scope: core\n");
        var run = await CliRunner.RunAsync(Timeout, ["up", "--rules", rules.Path, "--duration", "1s", .. Args("--datacenter dc1 --peer dc2=h1:9092 --peer-keys dc2=KEYS")]);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains("--peer: up's planner needs a stable key its peers trust", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("pass --signing-key", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_with_configured_peers_but_no_signing_key_exits_2_naming_the_key_and_file()
    {
        using var rules = new CliRunner.TempFile("rules:\n  - name: storm\n    counter: context-switches\n    threshold: 1000\n    scope: core\n");
        using var file = new CliRunner.TempFile($"SafeHaven:\n  Planner:\n    Datacenter: dc1\n    Peers:\n      - Datacenter: dc2\n" +
            $"        BootstrapServers: \"h1:9092\"\n        TrustedKeys: \"{_keys.FullName}\"\n");
        var run = await CliRunner.RunAsync(Timeout, "up", "--rules", rules.Path, "--duration", "1s", "--config", file.Path);
        Assert.True(run.ExitCode == 2, $"exit {run.ExitCode}: {run.Stderr}");
        Assert.Contains($"SafeHaven:Planner:Peers (in {file.Path}): up's planner needs a stable key", run.Stderr, StringComparison.Ordinal);
    }

    private string Expand(string text) =>
        text.Replace("KEYS", _keys.FullName, StringComparison.Ordinal).Replace("AGENT", _agentOnly.FullName, StringComparison.Ordinal);

    private string[] Args(string text) => Expand(text).Split(' ');

    private Task<CliRunner.Run> Plan(string? config, string[] flags) => CliRunner.RunAsync(Timeout,
        ["plan", "--bootstrap", "127.0.0.1:9", "--signing-key", _keys.FullName, .. config is null ? Array.Empty<string>() : ["--config", config], .. flags]);

    public void Dispose()
    {
        _keys.Delete(recursive: true);
        _agentOnly.Delete(recursive: true);
    }
}
