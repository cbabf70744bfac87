namespace SafeHaven.StreamProcessors.Detection;

/// <summary>Detector settings (config section <c>SafeHaven:Detector</c>).</summary>
public sealed class DetectorOptions
{
    /// <summary>Config section name.</summary>
    public const string SectionName = "SafeHaven:Detector";

    /// <summary>Streamiz application id (also the consumer group and internal topic prefix). Defaults to <c>safehaven-detector</c>.</summary>
    public string ApplicationId { get; set; } = "safehaven-detector";

    /// <summary>Rules file (docs/DESIGN.md §5). Required.</summary>
    public string RulesFile { get; set; } = "";

    /// <summary>Stream threads. Defaults to 1.</summary>
    public int Threads { get; set; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ApplicationId) || !SafeHaven.Core.Identifiers.IsToken(ApplicationId))
        {
            throw new ArgumentException($"{SectionName}:{nameof(ApplicationId)}: detector application id '{ApplicationId}' is not a valid id");
        }
        if (string.IsNullOrWhiteSpace(RulesFile))
        {
            throw new ArgumentException($"{SectionName}:{nameof(RulesFile)}: no rules file configured (SafeHaven:Detector:RulesFile or --rules)");
        }
        if (Threads is < 1 or > 64)
        {
            throw new ArgumentException($"{SectionName}:{nameof(Threads)}: detector threads must be 1..64, got {Threads}");
        }
    }
}
