using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>The CPUs the kernel has online (/sys/devices/system/cpu/online).</summary>
public static class OnlineCpus
{
    /// <summary>The kernel's file listing online CPUs.</summary>
    public const string DefaultPath = "/sys/devices/system/cpu/online";

    /// <summary>Reads the online CPUs from <paramref name="path"/> (the kernel's file by default).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="FormatException">The file does not hold a CPU list.</exception>
    public static CpuList Read(string path = DefaultPath) => CpuList.Parse(File.ReadAllText(path));
}
