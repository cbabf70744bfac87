namespace SafeHaven.StreamProcessors.Siem;

/// <summary>The JSON dialect the projector writes to <c>safehaven.siem</c>.</summary>
public enum SiemFormat
{
    /// <summary>OCSF 1.x: Detection Finding (2004) per detection, Process Remediation (7003) or Remediation (7001) Activity per result.</summary>
    Ocsf,

    /// <summary>Elastic Common Schema: <c>@timestamp</c>, <c>event.*</c>, <c>host.*</c>, <c>process.*</c>, <c>rule.*</c>, <c>observer.*</c>, <c>safehaven.*</c>.</summary>
    Ecs,
}

/// <summary>SIEM projector settings (config section <c>SafeHaven:Siem</c>).</summary>
public sealed class SiemOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:Siem";

    /// <summary>Streamiz application id (also the consumer group). Defaults to <c>safehaven-siem</c>, which the secured profile's ACLs grant.</summary>
    public string ApplicationId { get; set; } = "safehaven-siem";

    /// <summary>Output dialect. Defaults to <see cref="SiemFormat.Ocsf"/>.</summary>
    public SiemFormat Format { get; set; } = SiemFormat.Ocsf;

    /// <summary>
    /// The deployment's cluster identity, written into every event beside the datacenter so that a SIEM fed by several
    /// SafeHaven deployments can tell them apart. Defaults to <c>safehaven</c>.
    /// </summary>
    public string Cluster { get; set; } = "safehaven";

    /// <summary>Stream threads. Defaults to 1.</summary>
    public int Threads { get; set; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ApplicationId) || !SafeHaven.Core.Identifiers.IsToken(ApplicationId))
        {
            throw new ArgumentException($"{SectionName}:{nameof(ApplicationId)}: siem application id '{ApplicationId}' is not a valid id");
        }
        if (!Enum.IsDefined(Format))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Format)}: siem format '{Format}' is not ocsf or ecs");
        }
        if (string.IsNullOrWhiteSpace(Cluster) || !SafeHaven.Core.Identifiers.IsToken(Cluster))
        {
            throw new ArgumentException($"{SectionName}:{nameof(Cluster)}: siem cluster '{SafeHaven.Core.Identifiers.Printable(Cluster ?? "")}' is not a valid id");
        }
        if (Threads is < 1 or > 64)
        {
            throw new ArgumentException($"{SectionName}:{nameof(Threads)}: siem threads must be 1..64, got {Threads}");
        }
    }

    /// <summary>Parses <c>ocsf</c> or <c>ecs</c> (any case); throws <see cref="ArgumentException"/> naming the value otherwise.</summary>
    public static SiemFormat ParseFormat(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "ocsf" => SiemFormat.Ocsf,
        "ecs" => SiemFormat.Ecs,
        _ => throw new ArgumentException($"--siem-format '{SafeHaven.Core.Identifiers.Printable(value ?? "")}': expected ocsf or ecs"),
    };
}
