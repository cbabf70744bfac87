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
