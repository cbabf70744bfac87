namespace SafeHaven.Kafka.Clients;

/// <summary>
/// How every Kafka client authenticates to the brokers and protects the connection (config section
/// <c>SafeHaven:Kafka:Security</c>). The names and values follow librdkafka's. Defaults to plaintext, which is
/// what the embedded broker speaks; a real deployment should use <c>sasl_ssl</c> with SCRAM (docs/SECURITY.md).
/// </summary>
public sealed class KafkaSecurityOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = KafkaOptions.SectionName + ":Security";

    /// <summary><c>plaintext</c> (default), <c>ssl</c>, <c>sasl_plaintext</c> or <c>sasl_ssl</c>.</summary>
    public string SecurityProtocol { get; set; } = "plaintext";

    /// <summary>With a <c>sasl_*</c> protocol: <c>SCRAM-SHA-256</c>, <c>SCRAM-SHA-512</c>, or <c>PLAIN</c> (over <c>sasl_ssl</c> only).</summary>
    public string SaslMechanism { get; set; } = "";

    /// <summary>The SASL principal's name.</summary>
    public string SaslUsername { get; set; } = "";

    /// <summary>The SASL password itself. Prefer <see cref="SaslPasswordFile"/>: a value in the environment or on a command line is readable by more than its owner.</summary>
    public string SaslPassword { get; set; } = "";

    /// <summary>A file holding the SASL password (one line), read at start; refused when group or others may read or write it.</summary>
    public string SaslPasswordFile { get; set; } = "";

    /// <summary>With TLS: PEM file (or directory) of the CA certificates that sign the brokers'; empty: the system's.</summary>
    public string SslCaLocation { get; set; } = "";

    /// <summary>With TLS: this client's certificate (PEM), for mutual TLS; needs <see cref="SslKeyLocation"/>.</summary>
    public string SslCertificateLocation { get; set; } = "";

    /// <summary>With TLS: this client's private key (PEM); refused when group or others may read or write it.</summary>
    public string SslKeyLocation { get; set; } = "";

    /// <summary>A file holding the passphrase of <see cref="SslKeyLocation"/>; refused when group or others may read or write it.</summary>
    public string SslKeyPasswordFile { get; set; } = "";

    /// <summary>With TLS: <c>https</c> (default) checks that the broker's certificate names the host dialled; <c>none</c> does not.</summary>
    public string SslEndpointIdentification { get; set; } = "https";

    /// <summary>The protocol, normalised to librdkafka's lower case.</summary>
    public string Protocol => SecurityProtocol.Trim().ToLowerInvariant();

    /// <summary>True when the connection is neither encrypted nor authenticated (the default, and the embedded broker's).</summary>
    public bool IsPlaintext => Protocol == "plaintext";

    /// <summary>True with <c>ssl</c> or <c>sasl_ssl</c>.</summary>
    public bool UsesTls => Protocol is "ssl" or "sasl_ssl";

    /// <summary>True with <c>sasl_plaintext</c> or <c>sasl_ssl</c>.</summary>
    public bool UsesSasl => Protocol is "sasl_plaintext" or "sasl_ssl";

    /// <summary>Throws <see cref="KafkaSecurityException"/> naming the first invalid setting (values, combinations, files).</summary>
    public void Validate()
    {
        if (Protocol is not ("plaintext" or "ssl" or "sasl_plaintext" or "sasl_ssl"))
        {
            throw new KafkaSecurityException(nameof(SecurityProtocol), $"'{SecurityProtocol}' is not one of plaintext, ssl, sasl_plaintext, sasl_ssl");
        }
        ValidateSasl();
        ValidateTls();
    }

    /// <summary>Validates, then reads the secret files once: the settings every client of this process will use.</summary>
    public KafkaSecurity Resolve()
    {
        Validate();
        var password = SaslPasswordFile.Length > 0 ? SecretFile.ReadLine(nameof(SaslPasswordFile), SaslPasswordFile) : SaslPassword;
        var keyPassword = SslKeyPasswordFile.Length > 0 ? SecretFile.ReadLine(nameof(SslKeyPasswordFile), SslKeyPasswordFile) : "";
        return KafkaSecurity.From(this, password, keyPassword);
    }

    private void ValidateSasl()
    {
        if (!UsesSasl)
        {
            // A SASL setting under a protocol that ignores it would look secured and not be.
            RequireEmpty(nameof(SaslMechanism), SaslMechanism, "a sasl_plaintext or sasl_ssl security protocol");
            RequireEmpty(nameof(SaslUsername), SaslUsername, "a sasl_plaintext or sasl_ssl security protocol");
            RequireEmpty(nameof(SaslPassword), SaslPassword, "a sasl_plaintext or sasl_ssl security protocol");
            RequireEmpty(nameof(SaslPasswordFile), SaslPasswordFile, "a sasl_plaintext or sasl_ssl security protocol");
            return;
        }
        var mechanism = SaslMechanism.Trim().ToUpperInvariant();
        if (mechanism.Length == 0)
        {
            throw new KafkaSecurityException(nameof(SaslMechanism), $"is required with {Protocol} (SCRAM-SHA-256 or SCRAM-SHA-512)");
        }
        if (mechanism is not ("SCRAM-SHA-256" or "SCRAM-SHA-512" or "PLAIN"))
        {
            throw new KafkaSecurityException(nameof(SaslMechanism), $"'{SaslMechanism}' is not supported (SCRAM-SHA-256, SCRAM-SHA-512, or PLAIN over sasl_ssl)");
        }
        if (mechanism == "PLAIN" && !UsesTls)
        {
            throw new KafkaSecurityException(nameof(SaslMechanism), "PLAIN sends the password in clear text: use it only with sasl_ssl, or use SCRAM-SHA-512");
        }
        if (string.IsNullOrWhiteSpace(SaslUsername))
        {
            throw new KafkaSecurityException(nameof(SaslUsername), $"is required with {Protocol}");
        }
        if (SaslPassword.Length > 0 && SaslPasswordFile.Length > 0)
        {
            throw new KafkaSecurityException(nameof(SaslPasswordFile), "and SaslPassword are both set: give one");
        }
        if (SaslPassword.Length == 0 && SaslPasswordFile.Length == 0)
        {
            throw new KafkaSecurityException(nameof(SaslPasswordFile), $"is required with {Protocol} (or SaslPassword)");
        }
        if (SaslPasswordFile.Length > 0)
        {
            SecretFile.RequirePrivate(nameof(SaslPasswordFile), SaslPasswordFile);
        }
    }

    private void ValidateTls()
    {
        if (!UsesTls)
        {
            const string needs = "an ssl or sasl_ssl security protocol";
            RequireEmpty(nameof(SslCaLocation), SslCaLocation, needs);
            RequireEmpty(nameof(SslCertificateLocation), SslCertificateLocation, needs);
            RequireEmpty(nameof(SslKeyLocation), SslKeyLocation, needs);
            RequireEmpty(nameof(SslKeyPasswordFile), SslKeyPasswordFile, needs);
            if (!SslEndpointIdentification.Trim().Equals("https", StringComparison.OrdinalIgnoreCase))
            {
                throw new KafkaSecurityException(nameof(SslEndpointIdentification), $"applies only with {needs}");
            }
            return;
        }
        if (SslEndpointIdentification.Trim().ToLowerInvariant() is not ("https" or "none"))
        {
            throw new KafkaSecurityException(nameof(SslEndpointIdentification), $"'{SslEndpointIdentification}' is not https or none");
        }
        if (SslCaLocation.Length > 0 && !File.Exists(SslCaLocation) && !Directory.Exists(SslCaLocation))
        {
            throw new KafkaSecurityException(nameof(SslCaLocation), $"'{SslCaLocation}' does not exist");
        }
        if (SslCertificateLocation.Length > 0 != SslKeyLocation.Length > 0)
        {
            var missing = SslKeyLocation.Length == 0 ? nameof(SslKeyLocation) : nameof(SslCertificateLocation);
            throw new KafkaSecurityException(missing, "is required for mutual TLS: give both the client certificate and its key");
        }
        if (SslCertificateLocation.Length > 0 && !File.Exists(SslCertificateLocation))
        {
            throw new KafkaSecurityException(nameof(SslCertificateLocation), $"'{SslCertificateLocation}' does not exist");
        }
        if (SslKeyLocation.Length > 0)
        {
            SecretFile.RequirePrivate(nameof(SslKeyLocation), SslKeyLocation);
        }
        if (SslKeyPasswordFile.Length > 0)
        {
            if (SslKeyLocation.Length == 0)
            {
                throw new KafkaSecurityException(nameof(SslKeyPasswordFile), "needs SslKeyLocation (the key it unlocks)");
            }
            SecretFile.RequirePrivate(nameof(SslKeyPasswordFile), SslKeyPasswordFile);
        }
    }

    private static void RequireEmpty(string setting, string value, string needs)
    {
        if (value.Length > 0)
        {
            throw new KafkaSecurityException(setting, $"applies only with {needs}");
        }
    }
}

/// <summary>An invalid Kafka security setting: <see cref="Setting"/> names it, <see cref="Problem"/> says what is wrong.</summary>
public sealed class KafkaSecurityException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="setting"/> (a <see cref="KafkaSecurityOptions"/> property name).</summary>
    public KafkaSecurityException(string setting, string problem)
        : base($"{KafkaSecurityOptions.SectionName}:{setting}: {problem}")
    {
        Setting = setting;
        Problem = problem;
    }

    /// <summary>The property of <see cref="KafkaSecurityOptions"/> at fault.</summary>
    public string Setting { get; }

    /// <summary>What is wrong with it, without the setting's name (front ends prefix their own: a flag, a variable).</summary>
    public string Problem { get; }
}
