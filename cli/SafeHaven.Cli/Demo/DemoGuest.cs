using System.Globalization;
using SafeHaven.Actuators.Vm;
using SafeHaven.Actuators.Vm.Libvirt;

namespace SafeHaven.Cli.Demo;

/// <summary>The demo's guest at the source agent: a plain QEMU child, or a domain of the source's libvirt daemon.</summary>
internal sealed class DemoGuest : IDisposable
{
    private readonly QemuGuest? _qemu;

    private DemoGuest(int pid, string serialPath, QemuGuest? qemu)
    {
        (Pid, SerialPath, _qemu) = (pid, serialPath, qemu);
    }

    /// <summary>The source QEMU's pid, as this host sees it (what the probe watches).</summary>
    public int Pid { get; }

    /// <summary>The file its ttyS0 writes to at the source.</summary>
    public string SerialPath { get; }

    /// <summary>The source QEMU is gone (reaped, for a child of ours).</summary>
    public bool HasExited => _qemu?.HasExited ?? !Directory.Exists($"/proc/{Pid}");

    /// <summary>What QEMU said, when it said anything we can read.</summary>
    public string Problem() => _qemu?.StandardError.Trim() ?? "see the libvirt daemon's log";

    public static DemoGuest StartQemu(QemuGuestSpec spec, string dir)
    {
        var qemu = QemuGuest.Start(spec, dir);
        return new DemoGuest(qemu.Pid, qemu.SerialPath, qemu);
    }

    /// <summary>Defines and starts the guest in the daemon at <paramref name="uri"/>, its serial file and definition in <paramref name="dir"/>.</summary>
    public static async Task<DemoGuest> StartLibvirtAsync(QemuGuestSpec spec, string dir, string uri, string pidNamespace, CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("libvirt guests are run on Linux only");
        }
        // Private: the guest's serial output and definition are the tenant's.
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var serial = QemuPaths.In(dir, spec.Name, ".serial");
        spec.Save(dir);
        await new LibvirtConnection(LibvirtUri.Parse(uri)).DefineAndStartAsync(spec, serial, ct).ConfigureAwait(false);
        return new DemoGuest(FindQemu(spec.Name, pidNamespace), serial, null);
    }

    /// <summary>Waits until the source QEMU is gone, polling (libvirt's QEMU is not our child).</summary>
    public async Task WaitForExitAsync(CancellationToken ct)
    {
        if (_qemu is not null)
        {
            await _qemu.WaitForExitAsync(ct).ConfigureAwait(false);
            return;
        }
        while (!HasExited)
        {
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    // libvirt starts QEMU inside its daemon's PID namespace (and hands it the serial file as a descriptor):
    // the guest is the QEMU of that name in that namespace, which this host still sees under its own pid.
    private static int FindQemu(string name, string pidNamespace)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                var args = File.ReadAllText(Path.Join(dir, "cmdline")).Split('\0');
                if (args.Any(a => a.StartsWith($"guest={name},", StringComparison.Ordinal)) && new FileInfo(Path.Join(dir, "ns", "pid")).LinkTarget == pidNamespace)
                {
                    return pid;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked.
            }
        }
        throw new InvalidOperationException($"libvirt started '{name}', but no QEMU of that name shows in its daemon's PID namespace {pidNamespace}");
    }

    /// <summary>Kills a QEMU child of ours; a libvirt guest ends with its daemon.</summary>
    public void Dispose() => _qemu?.Dispose();
}
