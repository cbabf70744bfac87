using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Host.Cpu;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>
/// A stand-in for criu, so that the failure paths of a move run without root or CRIU: <c>page-server</c> leaves a
/// short-lived process, <c>dump</c> stops the tree (as <c>--leave-stopped</c> does) and writes one metadata image,
/// <c>restore</c> starts a sleep as the restored init and notes its pid. The containers are plain sleeps.
/// Disposing kills every process it started and every "restored" one.
/// </summary>
internal sealed class FakeCriu : IDisposable
{
    private readonly List<Process> _started = [];

    /// <summary>Writes the script into <paramref name="dir"/>; <paramref name="dumpHook"/> is shell run after the dump stopped the tree.</summary>
    public FakeCriu(string dir, string dumpHook = "")
    {
        Binary = Path.Join(dir, "fake-criu");
        Restored = Path.Join(dir, "restored.pids");
        File.WriteAllText(Binary, $$"""
            #!/bin/sh
            verb=$1; shift
            while [ $# -gt 0 ]; do
              case "$1" in
                --tree) tree=$2; shift ;;
                --images-dir) dir=$2; shift ;;
                --pidfile) pidfile=$2; shift ;;
              esac
              shift
            done
            case "$verb" in
              page-server) /bin/sleep 0.2 </dev/null >/dev/null 2>&1 & echo $! > "$pidfile" ;;
              dump) kill -STOP "$tree" && echo image > "$dir/core-1.img" || exit 1
                {{dumpHook}} ;;
              restore) /bin/sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > "$pidfile"; echo $! >> '{{Restored}}' ;;
              *) echo "fake criu cannot $verb" >&2; exit 9 ;;
            esac
            """);
        File.SetUnixFileMode(Binary, UnixFileMode.UserRead | UnixFileMode.UserExecute);
    }

    public string Binary { get; }

    /// <summary>Where the fake restore notes each init it started.</summary>
    public string Restored { get; }

    /// <summary>The pids the fake restore started.</summary>
    public IReadOnlyList<int> RestoredPids() => !File.Exists(Restored) ? [] :
        [.. File.ReadAllLines(Restored).Where(l => l.Length > 0).Select(l => int.Parse(l, CultureInfo.InvariantCulture))];

    /// <summary>Short waits, this binary, ports <paramref name="portBase"/>..+14 (never listened on: nothing here listens).</summary>
    public CriuOptions Options(int portBase) => new()
    {
        Binary = Binary, PortMin = portBase, PortMax = portBase + 14,
        PrepareTimeout = TimeSpan.FromSeconds(2), CriuTimeout = TimeSpan.FromSeconds(2), VerifyTimeout = TimeSpan.FromSeconds(1),
    };

    /// <summary>Starts a sleep and registers it in <paramref name="site"/> as container <paramref name="name"/>.</summary>
    public ContainerRecord Start(ContainerSite site, string name)
    {
        var sleep = Process.Start(new ProcessStartInfo("/bin/sleep", "1000") { UseShellExecute = false })
            ?? throw new InvalidOperationException("sleep did not start");
        _started.Add(sleep);
        var record = new ContainerRecord
        {
            Spec = new ContainerSpec { Name = name, Command = ["/bin/sleep", "1000"] }, InitPid = sleep.Id,
            InitStartTime = ProcFs.Default.StartTime(sleep.Id), LogFile = site.LogOf(name),
        };
        site.Save(record);
        return record;
    }

    /// <summary>True while <paramref name="pid"/> runs (neither stopped nor gone).</summary>
    public static bool Runs(int pid) => ProcFs.Default.State(pid) is { } s && s is not ('T' or 't' or 'Z' or 'X');

    /// <summary>True once <paramref name="pid"/> is gone (a zombie counts).</summary>
    public static bool Gone(int pid) => ProcFs.Default.State(pid) is null or 'Z' or 'X';

    public void Dispose()
    {
        foreach (var p in _started)
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit(5000);
            }
            p.Dispose();
        }
        ProcessTree.TrySignal(RestoredPids().Where(p => !Gone(p)), ProcessTree.SigKill);
    }
}
