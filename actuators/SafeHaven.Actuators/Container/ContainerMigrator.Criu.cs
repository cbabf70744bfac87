using System.Diagnostics;
using System.Globalization;

namespace SafeHaven.Actuators.Container;

public static partial class ContainerMigrator
{
    // Target side: a page server on the first free port of the range; `--daemon` returns once it listens.
    private static async Task<(int Port, int Pid)> StartPageServerAsync(string images, CriuOptions options, CancellationToken ct)
    {
        var pidFile = Path.Join(images, "page-server.pid");
        var last = $"no free port in {options.PortMin}..{options.PortMax}";
        foreach (var port in FreePorts(options).Take(5))
        {
            var run = await CriuRunner.RunAsync(options.Binary, CriuArguments.PageServer(images, options.Address, port, pidFile, options.LogLevel),
                options.PrepareTimeout, ct).ConfigureAwait(false);
            if (run.Succeeded && ReadPid(pidFile) is { } pid)
            {
                return (port, pid);
            }
            last = CriuRunner.Why(run, Path.Join(images, CriuArguments.PageServerLog));
        }
        throw new IOException($"criu page-server did not start: {last}");
    }

    // Source side, lazy mode: the dump freezes the tree, writes every image but the lazy pages, then listens
    // and serves those pages until the target has them all. It is ready once it listens on its port itself
    // (another listener on that port would make its bind fail, and must not pass for it).
    // Not cancellable either (see the page-server dump): CriuTimeout bounds the wait.
    private static async Task<(Process Dump, int Port)> StartLazyDumpAsync(int initPid, string outDir, CriuOptions options)
    {
        var port = FreePorts(options).FirstOrDefault();
        if (port == 0)
        {
            throw new IOException($"no free port in {options.PortMin}..{options.PortMax} for the lazy-pages source");
        }
        var dump = CriuRunner.Start(options.Binary, CriuArguments.Dump(initPid, outDir, options.Address, port, lazy: true, options.LogLevel), out var output);
        try
        {
            var waited = Stopwatch.StartNew();
            while (!ListensOn(dump.Id, port))
            {
                if (dump.HasExited)
                {
                    var errors = CriuRunner.Errors(Path.Join(outDir, CriuArguments.DumpLog));
                    throw new IOException($"criu dump --lazy-pages failed (exit {dump.ExitCode}: {(errors.Length > 0 ? errors : output.ToString().Trim())})");
                }
                if (waited.Elapsed > options.CriuTimeout)
                {
                    throw new IOException($"criu dump --lazy-pages served no pages within {Seconds(options.CriuTimeout)}");
                }
                await Task.Delay(2, CancellationToken.None).ConfigureAwait(false);
            }
            return (dump, port);
        }
        catch
        {
            if (!dump.HasExited)
            {
                dump.Kill(entireProcessTree: true);
            }
            dump.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Kills a lazy-pages dump of <paramref name="initPid"/> into <paramref name="outDir"/> that outlived the agent
    /// which started it, once it serves pages (its dump is over, no parasite is left in the tree): its command line
    /// (<see cref="CriuArguments.Dump"/>) names this very tree and this agent's outgoing directory. True when one was killed.
    /// </summary>
    internal static bool EndOrphanLazyDump(int initPid, string outDir)
    {
        string[] mark = ["dump", "--tree", initPid.ToString(CultureInfo.InvariantCulture), "--images-dir", outDir];
        var killed = false;
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 1)
            {
                continue;
            }
            string[] args;
            try
            {
                args = File.ReadAllText(Path.Join(entry, "cmdline")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            var at = Enumerable.Range(0, Math.Max(0, args.Length - mark.Length + 1)).FirstOrDefault(i => args.AsSpan(i, mark.Length).SequenceEqual(mark), -1);
            var portAt = Array.IndexOf(args, "--port");
            if (at >= 0 && args.Contains("--lazy-pages") && portAt > at && portAt + 1 < args.Length
                && int.TryParse(args[portAt + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && ListensOn(pid, port))
            {
                killed |= ProcessTree.TrySignal([pid], ProcessTree.SigKill);
            }
        }
        return killed;
    }

    // True when the process exited 0 within the timeout (it is killed otherwise).
    private static async Task<bool> WaitExitAsync(Process process, TimeSpan timeout)
    {
        using var bound = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(bound.Token).ConfigureAwait(false);
            return process.ExitCode == 0;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return false;
        }
        finally
        {
            if (process.HasExited)
            {
                process.Dispose();
            }
        }
    }

    /// <summary>
    /// Hands the dump's images other than the streamed pages to the target. These are process, file and mount
    /// metadata (tens of KiB for a small tree, whatever its memory size): copying them is not the rsync of the
    /// original, which moved the memory itself after the freeze. Logs stay with the source.
    /// </summary>
    internal static long CopyMetadata(string outDir, string imagesDir, long maxBytes)
    {
        var files = new DirectoryInfo(outDir).GetFiles().Where(f => !f.Name.EndsWith(".log", StringComparison.Ordinal)).ToList();
        var bytes = files.Sum(f => f.Length);
        if (bytes > maxBytes)
        {
            throw new IOException($"the dump's metadata images hold {bytes} bytes, more than the {maxBytes} allowed (tmpfs contents?)");
        }
        foreach (var f in files)
        {
            f.CopyTo(Path.Join(imagesDir, f.Name), overwrite: true);
        }
        return bytes;
    }

    /// <summary>Bytes of page images in <paramref name="imagesDir"/>.</summary>
    internal static long PageBytes(string imagesDir) =>
        new DirectoryInfo(imagesDir).GetFiles("pages-*.img").Sum(f => f.Length);
}
