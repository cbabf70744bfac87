using SafeHaven.Core;

namespace SafeHaven.Probes.Proc;

/// <summary>
/// Which processes to watch. Each non-empty list narrows the set (lists are ANDed; the entries of
/// one list are ORed); all lists empty means every user process.
/// </summary>
public sealed class DiscoveryFilter
{
    /// <summary>Watches every user process.</summary>
    public static DiscoveryFilter All { get; } = new();

    /// <summary>Explicit pids.</summary>
    public IReadOnlySet<int> Pids { get; init; } = new HashSet<int>();

    /// <summary>Command names (/proc/PID/comm).</summary>
    public IReadOnlySet<string> Comms { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Real uids (first field of <c>Uid:</c> in /proc/PID/status).</summary>
    public IReadOnlySet<uint> Uids { get; init; } = new HashSet<uint>();

    /// <summary>Cgroup path prefixes, matched on whole path segments against every hierarchy of the process.</summary>
    public IReadOnlyList<string> Cgroups { get; init; } = [];

    /// <summary>Container ids (or LXC names); a docker id may be given by a prefix of 12 or more characters.</summary>
    public IReadOnlyList<string> Containers { get; init; } = [];

    /// <summary>True when the uid is needed to decide (so /proc/PID/status must be read).</summary>
    public bool NeedsUid => Uids.Count > 0;

    /// <summary>The filter the options describe; the options must be valid.</summary>
    public static DiscoveryFilter From(ProbeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DiscoveryFilter
        {
            Pids = options.Pids.ToHashSet(),
            Comms = options.Comms.ToHashSet(StringComparer.Ordinal),
            Uids = options.Uids.ToHashSet(),
            Cgroups = [.. options.Cgroups.Select(c => c.Length > 1 ? c.TrimEnd('/') : c)],
            Containers = [.. options.Containers],
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad uid, cgroup or container option.</summary>
    public static void Validate(ProbeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string Section = ProbeOptions.SectionName;
        foreach (uint uid in options.Uids)
        {
            // (uid_t)-1 means "no uid" to the kernel; no process runs as it.
            if (uid == uint.MaxValue)
            {
                throw new ArgumentException($"{Section}:{nameof(options.Uids)}: {uid} is not a uid", nameof(options));
            }
        }
        foreach (string cgroup in options.Cgroups)
        {
            if (!IsCgroupPath(cgroup))
            {
                throw new ArgumentException($"{Section}:{nameof(options.Cgroups)}: '{Identifiers.Printable(cgroup ?? "")}' is not an absolute cgroup path " +
                    "(starts with '/', no empty, '.' or '..' segments, printable, at most 4096 characters)", nameof(options));
            }
        }
        foreach (string container in options.Containers)
        {
            Identifiers.RequireLongToken(container, $"{Section}:{nameof(options.Containers)}");
        }
    }

    /// <summary>True when <paramref name="comm"/> passes the comm filter.</summary>
    public bool MatchesComm(string comm) => Comms.Count == 0 || Comms.Contains(comm);

    /// <summary>True when the process's cgroup paths and container id pass the cgroup and container filters.</summary>
    public bool MatchesCgroup(IReadOnlyList<string> cgroupPaths, string? container)
    {
        ArgumentNullException.ThrowIfNull(cgroupPaths);
        if (Containers.Count > 0 && (container is null || !Containers.Any(c => ContainerMatches(c, container))))
        {
            return false;
        }
        return Cgroups.Count == 0 || Cgroups.Any(prefix => cgroupPaths.Any(p => UnderPrefix(p, prefix)));
    }

    /// <summary>True when <paramref name="uid"/> passes the uid filter; an unknown uid passes only when there is none.</summary>
    public bool MatchesUid(uint? uid) => Uids.Count == 0 || (uid is { } u && Uids.Contains(u));

    /// <summary>True when <paramref name="path"/> is <paramref name="prefix"/> or below it (whole segments).</summary>
    internal static bool UnderPrefix(string path, string prefix) =>
        prefix == "/" || path == prefix || (path.StartsWith(prefix, StringComparison.Ordinal) && path.Length > prefix.Length && path[prefix.Length] == '/');

    private static bool ContainerMatches(string wanted, string actual) =>
        actual == wanted || (wanted.Length >= 12 && actual.StartsWith(wanted, StringComparison.Ordinal));

    /// <summary>True for an absolute cgroup path: '/', then segments that are not empty, '.' or '..'; printable; at most 4096 characters.</summary>
    internal static bool IsCgroupPath(string? path)
    {
        if (path is null || path.Length is 0 or > 4096 || path[0] != '/' || path.Any(char.IsControl))
        {
            return false;
        }
        string trimmed = path.TrimEnd('/');
        return trimmed.Length == 0 ? path == "/" : trimmed[1..].Split('/').All(s => s is not ("" or "." or ".."));
    }
}
