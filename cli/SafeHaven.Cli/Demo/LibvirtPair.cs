using System.Diagnostics;
using System.Globalization;
using SafeHaven.Actuators.Vm.Libvirt;

namespace SafeHaven.Cli.Demo;

/// <summary>
/// Two private libvirt daemons for <c>demo --vm --backend libvirt</c>, each started by
/// <c>deploy/libvirt/libvirt-daemon.sh</c> in its own mount and PID namespace under ROOT/SIDE; disposing
/// stops both namespaces, which ends every guest they ran.
/// </summary>
internal sealed class LibvirtPair : IDisposable
{
    private readonly string _script;
    private readonly List<(Process Process, string Root)> _daemons = [];

    private LibvirtPair(string script) => _script = script;

    /// <summary>The socket URI of each side's daemon, by side name.</summary>
    public Dictionary<string, string> Uris { get; } = new(StringComparer.Ordinal);

    /// <summary>Each side's PID namespace (the link text of <c>/proc/PID/ns/pid</c>): where its daemon's guests run.</summary>
    public Dictionary<string, string> PidNamespaces { get; } = new(StringComparer.Ordinal);

    /// <summary>Starts one daemon per side under <paramref name="root"/>; throws with the daemon's words when one does not come up.</summary>
    public static async Task<LibvirtPair> StartAsync(string root, IEnumerable<string> sides, CancellationToken ct)
    {
        var script = GuestImage.FindTrusted("deploy", "libvirt", "libvirt-daemon.sh")
            ?? throw new InvalidOperationException("deploy/libvirt/libvirt-daemon.sh not found above the program (run the demo from the repository)");
        var pair = new LibvirtPair(script);
        try
        {
            // Distinct migration port ranges, away from other runs of the demo or the tests.
            var port = 50200 + (Random.Shared.Next(0, 60) * 128);
            foreach (var side in sides)
            {
                pair.Uris[side] = LibvirtUri.ForSocket(await pair.StartOneAsync(Path.Join(root, "libvirt-" + side), port, ct).ConfigureAwait(false)).Value;
                // The script's process is unshare by now: the namespace it made is its children's.
                pair.PidNamespaces[side] = new FileInfo($"/proc/{pair._daemons[^1].Process.Id}/ns/pid_for_children").LinkTarget
                    ?? throw new InvalidOperationException($"cannot read the PID namespace of libvirt daemon {side}");
                port += 64;
            }
            return pair;
        }
        catch
        {
            pair.Dispose();
            throw;
        }
    }

    private async Task<string> StartOneAsync(string root, int portMin, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { _script, "start", root, portMin.ToString(CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start /bin/bash for libvirt-daemon.sh");
        _daemons.Add((process, root));
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // The first start of a daemon probes QEMU's capabilities: a few seconds.
        bound.CancelAfter(TimeSpan.FromSeconds(90));
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            line = null;
        }
        if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"libvirt daemon under {root} did not start: {(await stderr.ConfigureAwait(false)).Trim()}");
        }
        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        return line["ready ".Length..];
    }

    /// <summary>Stops every daemon (and so its guests) and waits for each namespace to end.</summary>
    public void Dispose()
    {
        foreach (var (process, _) in _daemons)
        {
            try
            {
                // SIGKILL of the script's process (unshare by then) ends its PID namespace: daemon and guests.
                process.Kill();
                process.WaitForExit(10_000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.Dispose();
        }
        _daemons.Clear();
    }
}
