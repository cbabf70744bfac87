using System.CommandLine;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.Cli.Runtime;

/// <summary>
/// The Kafka connection security flags every verb that talks to a cluster shares, each with an environment variable
/// (<c>SAFEHAVEN__KAFKA__SECURITY__&lt;SETTING&gt;</c>, the .NET configuration spelling of
/// <c>SafeHaven:Kafka:Security:&lt;Setting&gt;</c>) for when no flag is given. An invalid value is a usage error that
/// names the flag or the variable it came from.
/// </summary>
internal sealed class SecurityFlags
{
    /// <summary>Prefix of the environment variables; the setting's name in upper case follows.</summary>
    public const string EnvironmentPrefix = "SAFEHAVEN__KAFKA__SECURITY__";

    private readonly Row[] _rows =
    [
        new(nameof(KafkaSecurityOptions.SecurityProtocol), Flag("--security-protocol", "Kafka security protocol: plaintext (default), ssl, sasl_plaintext, sasl_ssl"), (o, v) => o.SecurityProtocol = v),
        new(nameof(KafkaSecurityOptions.SaslMechanism), Flag("--sasl-mechanism", "SASL mechanism: SCRAM-SHA-512, SCRAM-SHA-256, or PLAIN (sasl_ssl only)"), (o, v) => o.SaslMechanism = v),
        new(nameof(KafkaSecurityOptions.SaslUsername), Flag("--sasl-username", "SASL user (this role's principal)"), (o, v) => o.SaslUsername = v),
        new(nameof(KafkaSecurityOptions.SaslPasswordFile), Flag("--sasl-password-file", "File holding the SASL password; must not be readable by group or others"), (o, v) => o.SaslPasswordFile = v),
        // No flag for the password itself: a command line is visible to every user of the host.
        new(nameof(KafkaSecurityOptions.SaslPassword), null, (o, v) => o.SaslPassword = v),
        new(nameof(KafkaSecurityOptions.SslCaLocation), Flag("--ssl-ca", "PEM file of the CA that signs the brokers' certificates (default: the system's CAs)"), (o, v) => o.SslCaLocation = v),
        new(nameof(KafkaSecurityOptions.SslCertificateLocation), Flag("--ssl-cert", "This client's certificate (PEM), for mutual TLS"), (o, v) => o.SslCertificateLocation = v),
        new(nameof(KafkaSecurityOptions.SslKeyLocation), Flag("--ssl-key", "This client's private key (PEM), for mutual TLS; must not be readable by group or others"), (o, v) => o.SslKeyLocation = v),
        new(nameof(KafkaSecurityOptions.SslKeyPasswordFile), Flag("--ssl-key-password-file", "File holding the passphrase of --ssl-key; must not be readable by group or others"), (o, v) => o.SslKeyPasswordFile = v),
        new(nameof(KafkaSecurityOptions.SslEndpointIdentification), Flag("--ssl-endpoint-identification", "https (default): the broker's certificate must name the host dialled; none: skip that check"), (o, v) => o.SslEndpointIdentification = v),
    ];

    /// <summary>The flags, to add to a command.</summary>
    public IEnumerable<Option> Options => _rows.Where(r => r.Flag is not null).Select(r => (Option)r.Flag!);

    /// <summary>Adds every security flag to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in Options)
        {
            command.Options.Add(option);
        }
    }

    /// <summary>
    /// The settings from the flags, else the environment, validated with their files read once (so a missing or
    /// world-readable file fails here, naming its flag, before any role starts).
    /// </summary>
    public KafkaSecurityOptions Read(ParseResult parse, Func<string, string?>? environment = null) => Read(parse, null, null, environment);

    /// <summary>
    /// As <see cref="Read(ParseResult, Func{string, string?}?)"/>, starting from <paramref name="configured"/> (the
    /// SafeHaven:Kafka:Security section of <paramref name="config"/>, file and environment), which flags override.
    /// </summary>
    public KafkaSecurityOptions Read(ParseResult parse, KafkaSecurityOptions? configured, Configuration.SafeHavenConfig? config,
        Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var options = configured ?? new KafkaSecurityOptions();
        var source = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var row in _rows)
        {
            var variable = EnvironmentPrefix + row.Setting.ToUpperInvariant();
            if (row.Flag is not null && parse.GetValue(row.Flag) is { } flagged)
            {
                row.Set(options, flagged);
                source[row.Setting] = row.Flag.Name;
            }
            else if (environment(variable) is { Length: > 0 } value)
            {
                row.Set(options, value);
                source[row.Setting] = variable;
            }
            else if (config?.SourceOf($"{KafkaSecurityOptions.SectionName}:{row.Setting}") is { } where && !where.StartsWith("the default", StringComparison.Ordinal))
            {
                source[row.Setting] = $"{KafkaSecurityOptions.SectionName}:{row.Setting} ({where})";
            }
        }
        try
        {
            _ = options.Resolve();
        }
        catch (KafkaSecurityException e)
        {
            throw new UsageException($"{Name(e.Setting, source)}: {InFlagTerms(e.Problem, source)}", e);
        }
        return options;
    }

    /// <summary>The embedded broker speaks plaintext only: refuse security settings without <c>--bootstrap</c>.</summary>
    public static void RequirePlaintextForEmbedded(KafkaSecurityOptions security)
    {
        if (!security.IsPlaintext)
        {
            throw new UsageException($"--security-protocol {security.Protocol}: the embedded broker speaks plaintext only; give --bootstrap of a secured cluster");
        }
    }

    private string Name(string setting, Dictionary<string, string> source) =>
        source.TryGetValue(setting, out var name) ? name : Default(setting);

    // Where the setting was not given at all (a required one), name the flag and its variable.
    private string Default(string setting)
    {
        var row = _rows.First(r => r.Setting == setting);
        var variable = EnvironmentPrefix + setting.ToUpperInvariant();
        return row.Flag is null ? variable : $"{row.Flag.Name} (or {variable})";
    }

    // Problems may mention other settings by property name: show them as the user wrote them. Longest names first,
    // so that SaslPasswordFile is not taken for SaslPassword.
    private string InFlagTerms(string problem, Dictionary<string, string> source)
    {
        foreach (var row in _rows.OrderByDescending(r => r.Setting.Length))
        {
            problem = problem.Replace(row.Setting, source.TryGetValue(row.Setting, out var name) ? name : row.Flag?.Name ?? EnvironmentPrefix + row.Setting.ToUpperInvariant(), StringComparison.Ordinal);
        }
        return problem;
    }

    private static Option<string?> Flag(string name, string description) => new(name) { Description = description };

    private sealed record Row(string Setting, Option<string?>? Flag, Action<KafkaSecurityOptions, string> Set);
}
