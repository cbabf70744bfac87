using System.Diagnostics;
using SafeHaven.Actuators.Vm;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>The test guest (Debian cloud kernel + busybox heartbeat initramfs), built once per run by tests/vm/build-guest.sh.</summary>
internal static class GuestImage
{
    private static readonly Lazy<(string? Dir, string? Problem)> Built = new(Build);

    /// <summary>Null when guests can run here, else why not (the skip reason).</summary>
    public static string? Problem => Built.Value.Problem;

    public static string Kernel => Path.Join(Built.Value.Dir, "vmlinuz");

    public static string Initrd => Path.Join(Built.Value.Dir, "initrd.gz");

    public static QemuGuestSpec Spec(string name, int memoryMb) => new() { Name = name, MemoryMb = memoryMb, Kernel = Kernel, Initrd = Initrd };

    private static (string?, string?) Build()
    {
        if (!File.Exists(QemuGuest.Binary))
        {
            return (null, $"{QemuGuest.Binary} is missing (apt-get install qemu-system-x86)");
        }
        if (Environment.UserName != "root")
        {
            return (null, "post-copy needs userfaultfd, which this machine grants to root only");
        }
        var script = FindScript();
        if (script is null)
        {
            return (null, "tests/vm/build-guest.sh not found above the test binaries");
        }
        var cache = Directory.Exists("/var/cache") ? "/var/cache/safehaven-test-guest" : Path.Join(Path.GetTempPath(), "safehaven-test-guest");
        var psi = new ProcessStartInfo("/bin/bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(cache);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill();
            return (null, "build-guest.sh took longer than 3 minutes");
        }
        return p.ExitCode == 0 ? (cache, null) : (null, $"build-guest.sh failed ({p.ExitCode}): {stderr.GetAwaiter().GetResult().Trim()}");
    }

    // The binaries may live in any artifacts folder: look up from this source file and the working directory too.
    private static string? FindScript([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        var starts = new[] { Path.GetDirectoryName(sourceFile), Environment.CurrentDirectory, AppContext.BaseDirectory };
        foreach (var dir in starts.Where(s => !string.IsNullOrEmpty(s)).SelectMany(s => Ancestors(new DirectoryInfo(s!))))
        {
            var candidate = Path.Join(dir.FullName, "tests", "vm", "build-guest.sh");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static IEnumerable<DirectoryInfo> Ancestors(DirectoryInfo? dir)
    {
        for (; dir is not null; dir = dir.Parent)
        {
            yield return dir;
        }
    }
}

/// <summary>Private socket directories for one test; kills every QEMU it started and removes them.</summary>
internal sealed class VmSandbox : IDisposable
{
    private readonly List<QemuGuest> _guests = [];

    public VmSandbox()
    {
        // Short: unix socket paths must stay under 108 bytes.
        Root = Path.Join("/tmp", "shvm-" + Guid.NewGuid().ToString("N")[..8]);
        A = Path.Join(Root, "a");
        B = Path.Join(Root, "b");
    }

    public string Root { get; }

    public string A { get; }

    public string B { get; }

    public QemuGuest Track(QemuGuest guest)
    {
        _guests.Add(guest);
        return guest;
    }

    public void Dispose()
    {
        foreach (var g in _guests)
        {
            g.Dispose();
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
