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
        Description = "This deployment's cluster identity, written into every SIEM event beside the datacenter",
        DefaultValueFactory = _ => "safehaven",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Format);
        command.Options.Add(Cluster);
    }

    /// <summary>The projector's settings; a bad value exits 2 naming the flag.</summary>
    public SiemOptions Options(ParseResult parse)
    {
        try
        {
            var options = new SiemOptions { Format = SiemOptions.ParseFormat(parse.GetValue(Format)!), Cluster = parse.GetValue(Cluster)! };
            options.Validate();
            return options;
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message.StartsWith("--", StringComparison.Ordinal) ? e.Message : "--siem-cluster: " + e.Message, e);
        }
    }
}
