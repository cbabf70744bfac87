using System.Diagnostics;
using System.Text;

namespace SafeHaven.Actuators.Container;

/// <summary>Starts and stops the containers of a <see cref="ContainerSite"/> (see <see cref="ContainerSpec"/> for what they are).</summary>
public static class NamespacedContainer
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Starts <paramref name="spec"/> through <c>unshare</c> (<see cref="CriuArguments.Launch"/>), waits until its
    /// init runs the command itself, and registers it in <paramref name="site"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The spec or options are invalid.</exception>
    /// <exception cref="InvalidOperationException">A container of that name already runs here, the start failed, or the site is not trusted.</exception>
    public static async Task<ContainerRecord> StartAsync(ContainerSite site, ContainerSpec spec, CriuOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        spec.Validate();
        options.Validate();
        if (site.Load(spec.Name) is { IsRunning: true } running)
        {
            throw new InvalidOperationException($"container '{spec.Name}' already runs here (init pid {running.InitPid})");
        }
        ContainerSite.CreatePrivate(site.Containers);
        // Again once created: the container's log goes there.
        site.RequireTrusted();
        var log = site.LogOf(spec.Name);
        var psi = new ProcessStartInfo(options.Unshare)
        {
            UseShellExecute = false, WorkingDirectory = spec.WorkingDirectory,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var a in CriuArguments.Launch(options, log, spec.Command))
        {
            psi.ArgumentList.Add(a);
        }
        var shim = Process.Start(psi) ?? throw new InvalidOperationException($"{options.Unshare} did not start");
        var stderr = new StringBuilder();
        shim.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        shim.OutputDataReceived += (_, _) => { };
        shim.BeginErrorReadLine();
        shim.BeginOutputReadLine();
        shim.StandardInput.Close();
        try
        {
            var init = await WaitForInitAsync(shim, spec.Command, ct).ConfigureAwait(false);
            var record = new ContainerRecord
            {
                Spec = spec, InitPid = init, InitStartTime = ProcFs.Default.StartTime(init), ShimPid = shim.Id, LogFile = log,
            };
            site.Save(record);
            return record;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or ProcessGoneException)
        {
            string why;
            lock (stderr)
            {
                why = stderr.ToString().Trim();
            }
            if (!shim.HasExited)
            {
                shim.Kill(entireProcessTree: true);
            }
            if (e is OperationCanceledException)
            {
                throw;
            }
            throw new InvalidOperationException($"container '{spec.Name}' did not start: {e.Message} {why}".Trim(), e);
        }
    }

    /// <summary>Kills container <paramref name="name"/> of <paramref name="site"/> (its whole PID namespace) and unregisters it.</summary>
    /// <returns>False when its processes were still there after 10 s.</returns>
    public static async Task<bool> StopAsync(ContainerSite site, string name, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(site);
        var record = site.Load(name);
        if (record is null)
        {
            return true;
        }
        var gone = true;
        if (record.IsRunning)
        {
            var tree = ProcessTree.Of(record.InitPid);
            // SIGKILL to a PID namespace's init kills every process in it.
            ProcessTree.Signal([record.InitPid], ProcessTree.SigKill);
            gone = await ProcessTree.WaitGoneAsync(tree, TimeSpan.FromSeconds(10), ct).ConfigureAwait(false);
        }
        site.Remove(name);
        return gone;
    }

    // The shim forks the init at once; the init then runs setsid and the launcher, and is ready for a dump
    // once its command line is the container's own (the launcher has redirected stdio by then).
    private static async Task<int> WaitForInitAsync(Process shim, IReadOnlyList<string> command, CancellationToken ct)
    {
        var expected = string.Join('\0', command) + "\0";
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (shim.HasExited)
            {
                throw new TimeoutException($"unshare exited with {shim.ExitCode}.");
            }
            if (ProcFs.Default.Children(shim.Id).FirstOrDefault() is var init and > 0 && CommandLine(init) == expected)
            {
                return init;
            }
            await Task.Delay(5, ct).ConfigureAwait(false);
        }
        throw new TimeoutException($"no init ran the command within {StartTimeout.TotalSeconds:0} s.");
    }

    private static string? CommandLine(int pid) => ProcFs.Default.ReadCmdline(pid);
}
