using System.Diagnostics;

namespace SafeHaven.Cli.Demo;

/// <summary>
/// The VM demo's guest: Debian's cloud kernel and a busybox heartbeat initramfs, built once into a cache
/// directory by <c>tests/vm/build-guest.sh</c> (started from an argument list, never a shell string).
/// </summary>
internal static class GuestImage
{
    /// <summary>The default cache: survives runs, so only the first demo pays for the download.</summary>
    public const string DefaultCache = "/var/cache/safehaven-guest";

    /// <summary>Kernel and initramfs in <paramref name="cache"/>, built there first when missing.</summary>
    /// <exception cref="InvalidOperationException">The guest cannot be built here; the message says why.</exception>
    public static async Task<(string Kernel, string Initrd)> EnsureAsync(string cache, CancellationToken ct)
    {
        var (kernel, initrd) = (Path.Join(cache, "vmlinuz"), Path.Join(cache, "initrd.gz"));
        if (File.Exists(kernel) && File.Exists(initrd))
        {
            return (kernel, initrd);
        }
        var script = FindScript() ?? throw new InvalidOperationException(
            $"no guest in {cache} and tests/vm/build-guest.sh not found (run the demo from the repository, or pass --guest-cache with vmlinuz and initrd.gz)");
        var psi = new ProcessStartInfo("/bin/bash") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(cache);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start /bin/bash for build-guest.sh");
        var stderr = p.StandardError.ReadToEndAsync(ct);
        _ = p.StandardOutput.ReadToEndAsync(ct);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            // A first build downloads a kernel (a minute or more): show that it is alive, on stderr only.
            using var progress = Runtime.ProgressReport.Start("guest build", null, TimeSpan.FromSeconds(10), "guest");
            var clock = Stopwatch.StartNew();
            var exited = p.WaitForExitAsync(bound.Token);
            progress.Report(0, $"building the guest into {cache} (tests/vm/build-guest.sh)");
            while (!exited.IsCompleted)
            {
                await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(1), bound.Token)).ConfigureAwait(false);
                progress.Report(clock.Elapsed.TotalSeconds, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"building the guest into {cache}: {clock.Elapsed.TotalSeconds:F0} s"));
            }
            await exited.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw ct.IsCancellationRequested ? new OperationCanceledException(ct) : new InvalidOperationException("build-guest.sh took longer than 3 minutes");
        }
        return p.ExitCode == 0 && File.Exists(kernel) && File.Exists(initrd) ? (kernel, initrd)
            : throw new InvalidOperationException($"building the guest failed ({script} exited {p.ExitCode}): {(await stderr.ConfigureAwait(false)).Trim()}");
    }

    // The CLI runs from .build/cli or a test output folder inside the repository: look upwards
    // from the program itself, never from the current directory (the demo runs as root, and a
    // script found under someone else's directory would run with root's rights). A script that
    // group or others may modify, or that sits in such a folder, is refused.
    private static string? FindScript() => FindTrusted("tests", "vm", "build-guest.sh");

    /// <summary>A repository file above the program that only its owner may modify, or null.</summary>
    public static string? FindTrusted(params string[] relative) =>
        Ancestors(new DirectoryInfo(AppContext.BaseDirectory))
            .Select(d => Path.Join([d.FullName, .. relative]))
            .FirstOrDefault(f => File.Exists(f) && !WritableByOthers(f) && !WritableByOthers(Path.GetDirectoryName(f)!));

    private static bool WritableByOthers(string path) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0;

    private static IEnumerable<DirectoryInfo> Ancestors(DirectoryInfo? dir)
    {
        for (; dir is not null; dir = dir.Parent)
        {
            yield return dir;
        }
    }
}
