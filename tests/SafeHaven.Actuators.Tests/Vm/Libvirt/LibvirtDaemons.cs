using System.Diagnostics;
using SafeHaven.Actuators.Vm;
using SafeHaven.Actuators.Vm.Libvirt;

namespace SafeHaven.Actuators.Tests.Vm.Libvirt;

/// <summary>
/// Two private libvirt daemons (A and B) on this machine, each started by deploy/libvirt/libvirt-daemon.sh in its own
/// mount and PID namespace under a temporary root; disposing kills each namespace (daemon and guests) and
/// removes the roots. <see cref="Problem"/> says why they could not run (the skip reason).
/// </summary>
public sealed class LibvirtDaemons : IDisposable
{
    private readonly List<Process> _daemons = [];

    public LibvirtDaemons()
    {
        // Short: the daemons' unix sockets live under it.
        Root = Path.Join("/tmp", "shlv-" + Guid.NewGuid().ToString("N")[..8]);
        Serials = Path.Join(Root, "serial");
        Problem = Start();
    }

    /// <summary>Null when both daemons answer, else why not.</summary>
    public string? Problem { get; }

    public string Root { get; }

    /// <summary>Where the tests' guests write their serial files.</summary>
    public string Serials { get; }

    public LibvirtConnection A { get; private set; } = null!;

    public LibvirtConnection B { get; private set; } = null!;

    public string Serial(string name, string side) => Path.Join(Serials, $"{name}-{side}.serial");

    /// <summary>A unix-socket migration channel for NAME (both daemons see the same /tmp).</summary>
    public string Channel(string name) => "unix://" + Path.Join(Root, name + ".mig");

    private string? Start()
    {
        if (GuestImage.Problem is { } guest)
        {
            return guest;
        }
        foreach (var (binary, package) in new[] { ("/usr/sbin/libvirtd", "libvirt-daemon"), ("/usr/bin/virsh", "libvirt-clients"), ("/usr/bin/unshare", "util-linux") })
        {
            if (!File.Exists(binary))
            {
                return $"{binary} is missing (apt-get install --no-install-recommends {package})";
            }
        }
        var script = FindScript();
        if (script is null)
        {
            return "deploy/libvirt/libvirt-daemon.sh not found above the test binaries";
        }
        Directory.CreateDirectory(Serials);
        // Distinct migration ports per run, so that a parallel run of these tests cannot collide.
        var portBase = 49200 + (Random.Shared.Next(0, 100) * 128);
        var a = StartOne(script, "a", portBase, out var problem);
        if (a is null)
        {
            return problem;
        }
        var b = StartOne(script, "b", portBase + 64, out problem);
        if (b is null)
        {
            return problem;
        }
        A = new LibvirtConnection(LibvirtUri.ForSocket(a));
        B = new LibvirtConnection(LibvirtUri.ForSocket(b));
        return null;
    }

    // Runs the script in the foreground; returns the socket once it printed "ready SOCKET".
    private string? StartOne(string script, string side, int portMin, out string? problem)
    {
        var psi = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add("start");
        psi.ArgumentList.Add(Path.Join(Root, side));
        psi.ArgumentList.Add(portMin.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(psi)!;
        _daemons.Add(process);
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        // The first start of a daemon probes QEMU's capabilities (a few seconds); bounded all the same.
        string? ready;
        try
        {
            ready = process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(90)).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            ready = null;
        }
        if (ready is null || !ready.StartsWith("ready ", StringComparison.Ordinal))
        {
            lock (stderr)
            {
                problem = $"libvirt daemon {side} did not start: {stderr.ToString().Trim()}";
            }
            return null;
        }
        _ = process.StandardOutput.ReadToEndAsync();
        problem = null;
        return ready["ready ".Length..];
    }

    private static string? FindScript([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        var starts = new[] { Path.GetDirectoryName(sourceFile), Environment.CurrentDirectory, AppContext.BaseDirectory };
        foreach (var start in starts.Where(s => !string.IsNullOrEmpty(s)))
        {
            for (var dir = new DirectoryInfo(start!); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Join(dir.FullName, "deploy", "libvirt", "libvirt-daemon.sh");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    public void Dispose()
    {
        // The script exec'd unshare --kill-child: killing it ends the namespace's PID 1, and the kernel ends
        // libvirtd and every QEMU in that namespace with it.
        foreach (var p in _daemons)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill();
                    p.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            p.Dispose();
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was created.
        }
    }
}

[CollectionDefinition("libvirt")]
public sealed class LibvirtDaemonsDefinition : ICollectionFixture<LibvirtDaemons>;
