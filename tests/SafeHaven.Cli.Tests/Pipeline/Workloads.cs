using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Linux;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// What the pipeline tests that move real processes share: workloads in process groups of their own, the
/// process tree under them, where their threads may run, and the cleanup of the processes, files and cpusets.
/// </summary>
internal sealed class Workloads : IDisposable
{
    private readonly List<Process> _processes = [];

    /// <summary>A scratch directory, deleted on dispose.</summary>
    public DirectoryInfo Dir { get; } = Directory.CreateTempSubdirectory("safehaven-pipeline-");

    /// <summary>SafeHaven's parent cpuset for this test, removed on dispose.</summary>
    public string Cgroup { get; } = "safehaven-pipeline-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Why a test that moves real processes on a one-CPU pool cannot run here, or null.</summary>
    public static string? Unavailable() =>
        Environment.UserName != "root" ? "moving processes between cpusets needs root"
        : !Directory.Exists("/sys/fs/cgroup/cpuset") ? "no cgroup v1 cpuset hierarchy on this host"
        : !File.Exists("/usr/bin/stress-ng") || !File.Exists("/usr/bin/setsid") ? "needs stress-ng and setsid (apt-get install -y stress-ng)"
        : Environment.ProcessorCount != 2 ? "the scenario is a one-CPU pool beside one shared CPU"
        : null;

    /// <summary>Starts <paramref name="args"/> in a session and process group of its own (a suspect group).</summary>
    public Process Setsid(params string[] args)
    {
        var info = new ProcessStartInfo("/usr/bin/setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }
        return Start(info);
    }

    /// <summary>Starts a process; unless <paramref name="drained"/> is false, its output is read and dropped so a full pipe never blocks it.</summary>
    public Process Start(ProcessStartInfo info, bool drained = true)
    {
        var p = Process.Start(info)!;
        _processes.Add(p);
        if (drained)
        {
            if (info.RedirectStandardInput)
            {
                p.StandardInput.Close();
            }
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
        }
        return p;
    }

    /// <summary>True when every thread of <paramref name="pid"/> may run only on <paramref name="pool"/>.</summary>
    public static bool OnPool(int pid, CpuList pool)
    {
        try
        {
            return ThreadVerifier.Verify(pid, pool).Ok;
        }
        catch (ProcessGoneException)
        {
            return false;
        }
    }

    /// <summary>The command name of a process, or null once it is gone.</summary>
    public static string? Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Every live descendant of <paramref name="root"/> (stress-ng --switch 1 runs its workers as a pair, one under the other).</summary>
    public static int[] Below(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var d in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(d), CultureInfo.InvariantCulture, out var pid) && ParentOf(pid) is { } parent)
            {
                parents[pid] = parent;
            }
        }
        bool Under(int pid) => parents.TryGetValue(pid, out var p) && (p == root || (p > 1 && Under(p)));
        return [.. parents.Keys.Where(Under)];
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
            p.Dispose();
        }
        Dir.Delete(recursive: true);
        if (Directory.Exists("/sys/fs/cgroup/cpuset/" + Cgroup))
        {
            CpusetDetector.Detect(Cgroup).Cleanup();
        }
    }
}
