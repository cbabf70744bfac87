using System.Globalization;

namespace SafeHaven.Probes.Proc;

/// <summary>A process found by <see cref="ProcessDiscovery"/>, with where it lives.</summary>
/// <param name="Identity">Pid, comm, start time, container and VM name.</param>
/// <param name="CgroupPath">The cgroup path that says where it lives (<see cref="ContainerIds.PrimaryPath"/>), or null.</param>
/// <param name="Unit">The systemd service unit it runs in, or null.</param>
/// <param name="Vm">What its command line says about the QEMU guest it runs, or null when it is no QEMU process.</param>
public sealed record DiscoveredProcess(ProcessIdentity Identity, string? CgroupPath, string? Unit, QemuGuest? Vm);

/// <summary>Fields of the text of <c>/proc/PID/status</c> that the probe needs beyond <see cref="ProcFs.StatusField"/>.</summary>
public static class StatusFields
{
    /// <summary>The real uid (first of the four <c>Uid:</c> values), or null.</summary>
    public static uint? RealUid(string? statusText)
    {
        string? value = Line(statusText, "Uid");
        int end = value?.IndexOfAny([' ', '\t']) ?? -1;
        string? first = end < 0 ? value : value![..end];
        return uint.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out uint uid) ? uid : null;
    }

    /// <summary>The <c>Cpus_allowed_list:</c> value (kernel list syntax), or null.</summary>
    public static string? CpusAllowedList(string? statusText) => Line(statusText, "Cpus_allowed_list");

    private static string? Line(string? text, string key)
    {
        if (text is null)
        {
            return null;
        }
        foreach (string line in text.Split('\n'))
        {
            if (line.Length > key.Length && line[key.Length] == ':' && line.StartsWith(key, StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..].Trim();
            }
        }
        return null;
    }
}
