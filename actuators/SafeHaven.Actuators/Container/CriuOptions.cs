using System.Net;

namespace SafeHaven.Actuators.Container;

/// <summary>How memory pages travel from the source to the target.</summary>
public enum CriuPageMode
{
    /// <summary>
    /// Pre-copy: the target runs <c>criu page-server</c> and <c>criu dump --page-server</c> streams every page
    /// into it while the tree is frozen. Restore starts from complete images.
    /// </summary>
    PageServer,

    /// <summary>
    /// Post-copy: <c>criu dump --lazy-pages</c> keeps the pages at the source and serves them; the target restores
    /// at once and <c>criu lazy-pages</c> faults pages in over the network (userfaultfd), pushing the rest behind.
    /// </summary>
    LazyPages,
}

/// <summary>
/// How the container agent runs CRIU (section <c>SafeHaven:Container:Criu</c>). Defaults fit the private criu
/// 4.1 that <c>deploy/criu/install-criu.sh</c> installs.
/// </summary>
public sealed class CriuOptions
{
    /// <summary>Where install-criu.sh puts its launcher.</summary>
    public const string DefaultBinary = "/opt/safehaven/criu/criu";

    /// <summary>The criu launcher or binary. Defaults to <see cref="DefaultBinary"/>.</summary>
    public string Binary { get; set; } = DefaultBinary;

    /// <summary>util-linux unshare, which gives a container its namespaces. Defaults to /usr/bin/unshare.</summary>
    public string Unshare { get; set; } = "/usr/bin/unshare";

    /// <summary>util-linux setsid: the container's init leads its own session. Defaults to /usr/bin/setsid.</summary>
    public string Setsid { get; set; } = "/usr/bin/setsid";

    /// <summary>bash, for the fixed launcher that detaches a container's stdio. Defaults to /bin/bash.</summary>
    public string Bash { get; set; } = "/bin/bash";

    /// <summary>
    /// Address the page server (or, in lazy mode, the dumping source) listens on. A literal IP: criu takes no
    /// unix socket address (only an inherited fd, <c>--ps-socket</c>). Defaults to 127.0.0.1.
    /// </summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>First port of the range page servers may listen on. Defaults to 27100.</summary>
    public int PortMin { get; set; } = 27100;

    /// <summary>Last port of the range (inclusive). Defaults to 27199.</summary>
    public int PortMax { get; set; } = 27199;

    /// <summary>Pre-copy through a page server (default) or post-copy through lazy pages.</summary>
    public CriuPageMode Mode { get; set; } = CriuPageMode.PageServer;

    /// <summary>criu log verbosity, 0..4. Defaults to 2 (errors and warnings); 4 for debugging.</summary>
    public int LogLevel { get; set; } = 2;

    /// <summary>How long either side waits for the other to show up or answer. Defaults to 30 s.</summary>
    public TimeSpan PrepareTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound on one criu dump or restore (lazy mode: until every page has moved). Defaults to 120 s.</summary>
    public TimeSpan CriuTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long the target has to show the restored tree alive and its heartbeat growing. Defaults to 20 s.</summary>
    public TimeSpan VerifyTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Cap on the images other than pages that the source hands over (process, file and mount metadata, tmpfs
    /// contents). A container whose metadata exceeds it is not moved. Defaults to 64 MiB.
    /// </summary>
    public long MaxMetadataBytes { get; set; } = 64L << 20;

    /// <summary>Throws unless every setting is usable.</summary>
    /// <exception cref="ArgumentException">Names the setting and the problem.</exception>
    public void Validate()
    {
        CriuArguments.RequireSafePath(Binary, nameof(Binary));
        CriuArguments.RequireSafePath(Unshare, nameof(Unshare));
        CriuArguments.RequireSafePath(Setsid, nameof(Setsid));
        CriuArguments.RequireSafePath(Bash, nameof(Bash));
        if (!IPAddress.TryParse(Address, out var ip) || ip.ToString() != Address)
        {
            throw new ArgumentException($"SafeHaven:Container:Criu:{nameof(Address)} '{Address}' is not a literal IP address", nameof(Address));
        }
        if (PortMin is < 1024 or > 65535 || PortMax is < 1024 or > 65535 || PortMax < PortMin)
        {
            throw new ArgumentException($"SafeHaven:Container:Criu:PortMin: port range {PortMin}..{PortMax} must lie within 1024..65535 and not be empty", nameof(PortMin));
        }
        if (LogLevel is < 0 or > 4)
        {
            throw new ArgumentException($"SafeHaven:Container:Criu:{nameof(LogLevel)} {LogLevel} is outside 0..4", nameof(LogLevel));
        }
        foreach (var (name, value) in new[] { (nameof(PrepareTimeout), PrepareTimeout), (nameof(CriuTimeout), CriuTimeout), (nameof(VerifyTimeout), VerifyTimeout) })
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentException($"SafeHaven:Container:Criu:{name}: must be positive, not {value}", name);
            }
        }
        if (MaxMetadataBytes <= 0)
        {
            throw new ArgumentException($"SafeHaven:Container:Criu:{nameof(MaxMetadataBytes)} must be positive", nameof(MaxMetadataBytes));
        }
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentException($"SafeHaven:Container:Criu:{nameof(Mode)} {(int)Mode} is not a page mode", nameof(Mode));
        }
    }
}
