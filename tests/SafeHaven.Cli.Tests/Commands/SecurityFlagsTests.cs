using System.CommandLine;
using SafeHaven.Cli.Runtime;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>
/// The Kafka security flags: every verb that talks to a cluster takes them, values come from a flag or else from
/// <c>SAFEHAVEN__KAFKA__SECURITY__*</c>, and a bad value exits 2 naming the flag or variable it came from.
/// </summary>
public sealed class SecurityFlagsTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly Dictionary<string, string?> NoEnvironment = [];
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-security-flags-");

    [Theory]
    [InlineData("up")]
    [InlineData("demo")]
    [InlineData("probe")]
    [InlineData("detect")]
    [InlineData("plan")]
    [InlineData("actuate")]
    [InlineData("container")]
    [InlineData("hypervisor")]
    [InlineData("topics")]
    public async Task Every_cluster_verb_lists_the_security_flags(string verb)
    {
        var run = await CliRunner.RunAsync(Timeout, verb, "--help");
        Assert.Equal(0, run.ExitCode);
        foreach (var flag in new[] { "--security-protocol", "--sasl-mechanism", "--sasl-username", "--sasl-password-file", "--ssl-ca", "--ssl-cert", "--ssl-key", "--ssl-key-password-file" })
        {
            Assert.Contains(flag, run.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_world_readable_password_file_exits_2_naming_the_flag()
    {
        var password = Secret("open.password", UnixFileMode.OtherRead);
        var run = await CliRunner.RunAsync(Timeout, "topics", "--bootstrap", "127.0.0.1:1", "--security-protocol", "sasl_ssl",
            "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-username", "probe", "--sasl-password-file", password);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--sasl-password-file", run.Stderr, StringComparison.Ordinal);
        Assert.Contains("chmod 600", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Security_settings_without_bootstrap_exit_2_the_embedded_broker_is_plaintext()
    {
        var run = await CliRunner.RunAsync(Timeout, "up", "--rules", RulesPath(), "--security-protocol", "ssl", "--duration", "1s");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("embedded broker speaks plaintext only", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_fills_what_no_flag_gives_and_flags_win()
    {
        var flags = new SecurityFlags();
        var parse = Parse(flags, "--sasl-username", "from-flag");
        var env = new Dictionary<string, string?>
        {
            ["SAFEHAVEN__KAFKA__SECURITY__SECURITYPROTOCOL"] = "sasl_plaintext",
            ["SAFEHAVEN__KAFKA__SECURITY__SASLMECHANISM"] = "SCRAM-SHA-256",
            ["SAFEHAVEN__KAFKA__SECURITY__SASLUSERNAME"] = "from-env",
            ["SAFEHAVEN__KAFKA__SECURITY__SASLPASSWORDFILE"] = Secret("pw", 0),
        };
        var options = flags.Read(parse, env.GetValueOrDefault);
        Assert.Equal("sasl_plaintext", options.Protocol);
        Assert.Equal("SCRAM-SHA-256", options.SaslMechanism);
        Assert.Equal("from-flag", options.SaslUsername);
    }

    [Theory]
    [InlineData(new[] { "--security-protocol", "tls" }, "--security-protocol: 'tls' is not one of")]
    [InlineData(new[] { "--security-protocol", "sasl_plaintext", "--sasl-mechanism", "PLAIN" }, "--sasl-mechanism: PLAIN sends the password in clear text")]
    [InlineData(new[] { "--security-protocol", "sasl_ssl", "--sasl-mechanism", "SCRAM-SHA-512" }, "--sasl-username (or SAFEHAVEN__KAFKA__SECURITY__SASLUSERNAME): is required")]
    [InlineData(new[] { "--ssl-ca", "/nonexistent/ca.pem" }, "--ssl-ca: applies only with an ssl or sasl_ssl")]
    [InlineData(new[] { "--security-protocol", "ssl", "--ssl-ca", "/nonexistent/ca.pem" }, "--ssl-ca: '/nonexistent/ca.pem' does not exist")]
    [InlineData(new[] { "--security-protocol", "ssl", "--ssl-key-password-file", "/nonexistent/pw" }, "--ssl-key-password-file: needs --ssl-key")]
    public void Bad_flags_are_usage_errors_naming_the_flag(string[] args, string expected)
    {
        var flags = new SecurityFlags();
        var e = Assert.Throws<UsageException>(() => flags.Read(Parse(flags, args), NoEnvironment.GetValueOrDefault));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_variable_is_named_in_the_error()
    {
        var flags = new SecurityFlags();
        var env = new Dictionary<string, string?> { ["SAFEHAVEN__KAFKA__SECURITY__SSLCALOCATION"] = "/nonexistent/ca.pem" };
        var e = Assert.Throws<UsageException>(() => flags.Read(Parse(flags, "--security-protocol", "ssl"), env.GetValueOrDefault));
        Assert.StartsWith("SAFEHAVEN__KAFKA__SECURITY__SSLCALOCATION: '/nonexistent/ca.pem' does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Role_verbs_hand_the_settings_to_every_client_they_build()
    {
        var flags = new RoleFlags();
        var command = new RootCommand();
        flags.AddTo(command, rules: true, actuator: true);
        var parse = command.Parse(["--security-protocol", "sasl_plaintext", "--sasl-mechanism", "SCRAM-SHA-512",
            "--sasl-username", "actuator", "--sasl-password-file", Secret("actuator.password", 0)]);
        Assert.Empty(parse.Errors);

        using var kafka = new SafeHaven.Kafka.Clients.KafkaClients(flags.Kafka(parse, "kafka-secured:9094"));
        var producer = kafka.Producer("p").ToDictionary(kv => kv.Key, kv => kv.Value);
        var consumer = kafka.Consumer("g", "c").ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("sasl_plaintext", producer["security.protocol"]);
        Assert.Equal("actuator", consumer["sasl.username"]);
        Assert.Equal("pw", consumer["sasl.password"]);
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private static ParseResult Parse(SecurityFlags flags, params string[] args)
    {
        var command = new RootCommand();
        flags.AddTo(command);
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        return parse;
    }

    private string Secret(string name, UnixFileMode extra)
    {
        var path = Path.Join(_dir.FullName, name);
        File.WriteAllText(path, "pw\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        return path;
    }

    private static string RulesPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Join(dir.FullName, "SafeHaven.sln")))
        {
            dir = dir.Parent;
        }
        return Path.Join(dir!.FullName, "examples", "rules", "covert-channel.yaml");
    }
}
