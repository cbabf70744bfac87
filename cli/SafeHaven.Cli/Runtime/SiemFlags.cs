using System.CommandLine;
using SafeHaven.StreamProcessors.Siem;

namespace SafeHaven.Cli.Runtime;

/// <summary>The flags of the SIEM projector (<c>siem</c>, and <c>up</c>/<c>detect</c>, which run it too).</summary>
internal sealed class SiemFlags
{
    public Option<string> Format { get; } = new("--siem-format")
    {
        Description = "Dialect of the events on the siem topic: ocsf (OCSF 1.x, default) or ecs (Elastic Common Schema); docs/SIEM.md",
        DefaultValueFactory = _ => "ocsf",
    };

    public Option<string> Cluster { get; } = new("--siem-cluster")
    {
        Description = "This deployment's cluster identity in every SIEM event (an event's record names its own cluster when it has one); default: --cluster when given, else safehaven",
        DefaultValueFactory = _ => "safehaven",
    };

    private static bool? Given(ParseResult parse, Option option) => parse.GetResult(option) is { } r ? !r.Implicit : null;

    public void AddTo(Command command)
    {
        command.Options.Add(Format);
        command.Options.Add(Cluster);
    }

    /// <summary>
    /// The projector's settings: the SafeHaven:Siem section, then the flags given; a bad value exits 2 naming the flag
    /// or key. Without --siem-cluster, a --cluster given on the command line (<paramref name="roleCluster"/>) names the
    /// deployment, so one flag sets both.
    /// </summary>
    public SiemOptions Options(ParseResult parse, Configuration.SafeHavenConfig config, Option<string>? roleCluster = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var options = config.Bind<SiemOptions>(SiemOptions.SectionName);
        try
        {
            config.Flag(parse, Format, "SafeHaven:Siem:Format", v => options.Format = SiemOptions.ParseFormat(v));
            if (Given(parse, Cluster) is not true && roleCluster is not null && Given(parse, roleCluster) is true)
            {
                // Checked as --cluster, so a bad value names the flag the user gave.
                options.Cluster = SafeHaven.Cli.Commands.CommonOptions.ClusterId(parse.GetValue(roleCluster));
            }
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
        config.Flag(parse, Cluster, "SafeHaven:Siem:Cluster", v => options.Cluster = v);
        config.Validate(SiemOptions.SectionName, options.Validate);
        return options;
    }
}
