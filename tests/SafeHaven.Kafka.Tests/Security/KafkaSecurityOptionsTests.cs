using SafeHaven.Kafka.Clients;

namespace SafeHaven.Kafka.Tests.Security;

/// <summary>Validation of the security settings: each bad value or combination is refused, naming the setting at fault.</summary>
public sealed class KafkaSecurityOptionsTests : IDisposable
{
    private readonly TestCredentials _files = new();

    [Fact]
    public void Default_is_plaintext_and_valid()
    {
        var options = new KafkaSecurityOptions();
        options.Validate();
        Assert.True(options.IsPlaintext);
        Assert.Same(KafkaSecurity.Plaintext, options.Resolve());
    }

    [Fact]
    public void Scram_over_tls_with_private_files_is_valid_and_reads_the_password_without_its_newline()
    {
        var security = SaslSsl().Resolve();
        Assert.Equal("s3cret-pw", security.Password);
        Assert.Equal("probe", security.Username);
        Assert.Equal(Confluent.Kafka.SaslMechanism.ScramSha512, security.Mechanism);
    }

    [Fact]
    public void Unknown_protocol_is_refused() => AssertRefused(nameof(KafkaSecurityOptions.SecurityProtocol), "'tls' is not one of",
        new KafkaSecurityOptions { SecurityProtocol = "tls" });

    [Fact]
    public void Plain_without_tls_is_refused()
    {
        var options = SaslSsl();
        options.SecurityProtocol = "sasl_plaintext";
        options.SslCaLocation = "";
        options.SaslMechanism = "PLAIN";
        AssertRefused(nameof(KafkaSecurityOptions.SaslMechanism), "clear text", options);
    }

    [Fact]
    public void Plain_over_tls_is_accepted()
    {
        var options = SaslSsl();
        options.SaslMechanism = "plain";
        Assert.Equal(Confluent.Kafka.SaslMechanism.Plain, options.Resolve().Mechanism);
    }

    [Fact]
    public void Scram_over_sasl_plaintext_is_accepted()
    {
        var options = SaslSsl();
        options.SecurityProtocol = "SASL_PLAINTEXT";
        options.SslCaLocation = "";
        Assert.Equal(Confluent.Kafka.SecurityProtocol.SaslPlaintext, options.Resolve().Protocol);
    }

    [Theory]
    [InlineData("GSSAPI")]
    [InlineData("OAUTHBEARER")]
    [InlineData("")]
    public void Sasl_needs_a_supported_mechanism(string mechanism)
    {
        var options = SaslSsl();
        options.SaslMechanism = mechanism;
        AssertRefused(nameof(KafkaSecurityOptions.SaslMechanism), mechanism.Length == 0 ? "is required" : "not supported", options);
    }

    [Fact]
    public void Sasl_needs_a_username()
    {
        var options = SaslSsl();
        options.SaslUsername = " ";
        AssertRefused(nameof(KafkaSecurityOptions.SaslUsername), "is required", options);
    }

    [Fact]
    public void Missing_password_file_is_refused()
    {
        var options = SaslSsl();
        options.SaslPasswordFile = _files.Missing;
        AssertRefused(nameof(KafkaSecurityOptions.SaslPasswordFile), "does not exist", options);
    }

    [Theory]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherWrite)]
    public void Password_file_readable_or_writable_by_others_is_refused(UnixFileMode extra)
    {
        var options = SaslSsl();
        options.SaslPasswordFile = _files.Write("open.password", "pw", UnixFileMode.UserRead | UnixFileMode.UserWrite | extra);
        AssertRefused(nameof(KafkaSecurityOptions.SaslPasswordFile), "chmod 600", options);
    }

    [Fact]
    public void Empty_password_file_is_refused_when_read()
    {
        var options = SaslSsl();
        options.SaslPasswordFile = _files.Write("empty.password", "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        options.Validate();
        var e = Assert.Throws<KafkaSecurityException>(options.Resolve);
        Assert.Equal(nameof(KafkaSecurityOptions.SaslPasswordFile), e.Setting);
        Assert.Contains("is empty", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_and_password_file_together_are_refused()
    {
        var options = SaslSsl();
        options.SaslPassword = "inline";
        AssertRefused(nameof(KafkaSecurityOptions.SaslPasswordFile), "both set", options);
    }

    [Fact]
    public void Sasl_settings_without_a_sasl_protocol_are_refused() => AssertRefused(nameof(KafkaSecurityOptions.SaslUsername), "applies only",
        new KafkaSecurityOptions { SecurityProtocol = "ssl", SaslUsername = "probe" });

    [Fact]
    public void Tls_settings_without_tls_are_refused() => AssertRefused(nameof(KafkaSecurityOptions.SslCaLocation), "applies only",
        new KafkaSecurityOptions { SslCaLocation = _files.CaFile });

    [Fact]
    public void Missing_ca_is_refused() => AssertRefused(nameof(KafkaSecurityOptions.SslCaLocation), "does not exist",
        new KafkaSecurityOptions { SecurityProtocol = "ssl", SslCaLocation = _files.Missing });

    [Fact]
    public void Client_certificate_without_key_is_refused() => AssertRefused(nameof(KafkaSecurityOptions.SslKeyLocation), "mutual TLS",
        new KafkaSecurityOptions { SecurityProtocol = "ssl", SslCertificateLocation = _files.CertificateFile });

    [Fact]
    public void World_readable_private_key_is_refused()
    {
        var key = _files.Write("open.key", File.ReadAllText(_files.KeyFile), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        AssertRefused(nameof(KafkaSecurityOptions.SslKeyLocation), "group or others",
            new KafkaSecurityOptions { SecurityProtocol = "ssl", SslCertificateLocation = _files.CertificateFile, SslKeyLocation = key });
    }

    [Fact]
    public void Key_password_file_without_key_is_refused() => AssertRefused(nameof(KafkaSecurityOptions.SslKeyPasswordFile), "needs SslKeyLocation",
        new KafkaSecurityOptions { SecurityProtocol = "ssl", SslKeyPasswordFile = _files.PasswordFile });

    [Fact]
    public void Bad_endpoint_identification_is_refused() => AssertRefused(nameof(KafkaSecurityOptions.SslEndpointIdentification), "not https or none",
        new KafkaSecurityOptions { SecurityProtocol = "ssl", SslEndpointIdentification = "dns" });

    [Fact]
    public void KafkaOptions_validation_includes_security()
    {
        var options = new KafkaOptions { BootstrapServers = "kafka:9093", Security = { SecurityProtocol = "sasl_ssl" } };
        var e = Assert.Throws<KafkaSecurityException>(options.Validate);
        Assert.StartsWith("SafeHaven:Kafka:Security:SaslMechanism: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Description_never_shows_the_password()
    {
        var text = SaslSsl().Resolve().ToString();
        Assert.DoesNotContain("s3cret", text, StringComparison.Ordinal);
        Assert.Contains("probe", text, StringComparison.Ordinal);
    }

    public void Dispose() => _files.Dispose();

    private KafkaSecurityOptions SaslSsl() => new()
    {
        SecurityProtocol = "sasl_ssl",
        SaslMechanism = "SCRAM-SHA-512",
        SaslUsername = "probe",
        SaslPasswordFile = _files.PasswordFile,
        SslCaLocation = _files.CaFile,
    };

    private static void AssertRefused(string setting, string problem, KafkaSecurityOptions options)
    {
        var e = Assert.Throws<KafkaSecurityException>(options.Validate);
        Assert.Equal(setting, e.Setting);
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        Assert.Throws<KafkaSecurityException>(() => options.Resolve());
    }
}
