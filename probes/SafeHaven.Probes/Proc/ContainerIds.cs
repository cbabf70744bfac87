using System.Text.RegularExpressions;
using SafeHaven.Core;

namespace SafeHaven.Probes.Proc;

/// <summary>Derives a container id from the cgroup paths in <c>/proc/PID/cgroup</c>.</summary>
public static partial class ContainerIds
{
    // docker under systemd (docker-<id>.scope), cgroupfs docker (/docker/<id>), podman
    // (libpod-<id>.scope or /libpod-<id>), containerd/cri (cri-containerd-<id>.scope) and LXC
    // (/lxc/<name> or /lxc.payload.<name>).
    [GeneratedRegex(@"(?:^|/)(?:docker-|libpod-|cri-containerd-|crio-)([0-9a-f]{12,64})(?:\.scope)?(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex ScopeId();

    [GeneratedRegex(@"(?:^|/)(?:docker|libpod|containerd)/([0-9a-f]{12,64})(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex DirectoryId();

    [GeneratedRegex(@"(?:^|/)(?:lxc/|lxc\.payload\.|lxc\.monitor\.)([A-Za-z0-9_][A-Za-z0-9._-]{0,127})(?:/|$)", RegexOptions.CultureInvariant)]
    private static partial Regex LxcName();

    /// <summary>
    /// The container id found in the text of a <c>/proc/PID/cgroup</c> file (v1 or v2 lines,
    /// <c>hierarchy:controllers:path</c>), or null when the process is not in a container.
    /// </summary>
    public static string? FromCgroupFile(string text)
    {
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // The path is everything after the second ':'; it may itself contain ':'.
            int first = line.IndexOf(':', StringComparison.Ordinal);
            int second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second >= 0 && FromCgroupPath(line[(second + 1)..]) is { } id)
            {
                return id;
            }
        }
        return null;
    }

    /// <summary>
    /// The cgroup paths of a <c>/proc/PID/cgroup</c> file, one per hierarchy line, in file order
    /// (v1 controllers may place a process at different paths; v2 has the single <c>0::</c> line).
    /// </summary>
    public static IReadOnlyList<string> Paths(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var paths = new List<string>();
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int first = line.IndexOf(':', StringComparison.Ordinal);
            int second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second >= 0)
            {
                paths.Add(line[(second + 1)..]);
            }
        }
        return paths;
    }

    /// <summary>
    /// The path that describes where the process lives: the v2 (<c>0::</c>) path unless it is the
    /// root of a hybrid setup, else the systemd hierarchy's, else the first; null when none.
    /// </summary>
    public static string? PrimaryPath(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string? unified = null, systemd = null, any = null;
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = line.Split(':', 3);
            if (parts.Length < 3)
            {
                continue;
            }
            any ??= parts[2];
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                unified = parts[2];
            }
            else if (parts[1] == "name=systemd")
            {
                systemd = parts[2];
            }
        }
        // On a hybrid host every process sits at the v2 root; the systemd tree then says more.
        return unified is not null && (unified != "/" || systemd is null) ? unified : systemd ?? any;
    }

    /// <summary>
    /// The innermost systemd service unit (<c>NAME.service</c>) in a cgroup path, or null. Units
    /// are facts for the inventory, not containers: a service is moved at core level only.
    /// </summary>
    public static string? SystemdUnit(string? path)
    {
        if (path is null)
        {
            return null;
        }
        string[] segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = segments.Length - 1; i >= 0; i--)
        {
            if (segments[i].EndsWith(".service", StringComparison.Ordinal))
            {
                return UnitName().IsMatch(segments[i]) ? segments[i] : null;
            }
        }
        return null;
    }

    // systemd's own unit-name alphabet (with \xNN escapes), bounded like UNIT_NAME_MAX.
    [GeneratedRegex(@"^[A-Za-z0-9:_.\\@-]{1,247}\.service\z", RegexOptions.CultureInvariant)]
    private static partial Regex UnitName();

    /// <summary>The container id in one cgroup path, or null.</summary>
    public static string? FromCgroupPath(string path)
    {
        foreach (var regex in new[] { ScopeId(), DirectoryId(), LxcName() })
        {
            var m = regex.Match(path);
            // The id ends up in Kafka keys and paths downstream: only a valid token is returned.
            if (m.Success && Identifiers.IsLongToken(m.Groups[1].Value))
            {
                return m.Groups[1].Value;
            }
        }
        return null;
    }
}
