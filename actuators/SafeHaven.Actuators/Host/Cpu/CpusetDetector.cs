namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>Chooses the cpuset hierarchy this host actually has.</summary>
public static class CpusetDetector
{
    /// <summary>
    /// A <see cref="CgroupV2Cpuset"/> when a cgroup2 mount lists <c>cpuset</c> in its
    /// <c>cgroup.controllers</c>, else a <see cref="CgroupV1Cpuset"/> on the v1 cpuset mount.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Neither hierarchy offers the cpuset controller.</exception>
    public static ICpusetController Detect(string parentName = "safehaven", string mounts = "/proc/self/mounts")
    {
        string? v1 = null;
        foreach (var line in File.ReadLines(mounts))
        {
            // device mountpoint fstype options dump pass; mount points escape spaces as \040.
            var f = line.Split(' ');
            if (f.Length < 4 || f[1].Contains('\\', StringComparison.Ordinal))
            {
                continue;
            }
            if (f[2] == "cgroup2" && HasV2Cpuset(f[1]))
            {
                return new CgroupV2Cpuset(f[1], parentName);
            }
            if (f[2] == "cgroup" && f[3].Split(',').Contains("cpuset"))
            {
                v1 ??= f[1];
            }
        }
        return v1 is not null
            ? new CgroupV1Cpuset(v1, parentName)
            : throw new PlatformNotSupportedException("no cgroup hierarchy offers the cpuset controller (cgroup v2 cgroup.controllers lacks 'cpuset' and no v1 cpuset mount exists)");
    }

    /// <summary>True when the unified hierarchy at <paramref name="root"/> offers the cpuset controller.</summary>
    public static bool HasV2Cpuset(string root = CgroupV2Cpuset.DefaultRoot)
    {
        var controllers = Path.Join(root, "cgroup.controllers");
        return File.Exists(controllers) && File.ReadAllText(controllers).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Contains("cpuset");
    }
}
