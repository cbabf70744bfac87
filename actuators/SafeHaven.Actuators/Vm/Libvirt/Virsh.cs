using System.Diagnostics;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>What one virsh run printed and how it ended.</summary>
/// <param name="ExitCode">0 on success.</param>
/// <param name="Stdout">Standard output.</param>
/// <param name="Stderr">Standard error (virsh's <c>error: …</c> lines).</param>
public sealed record VirshResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>True when virsh exited with 0.</summary>
    public bool Ok => ExitCode == 0;

    /// <summary>The error virsh printed, on one line.</summary>
    public string Error => string.Join("; ", Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}

/// <summary>virsh failed, or its answer could not be understood.</summary>
public sealed class LibvirtException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LibvirtException() { }

    /// <summary>Creates the exception with a message.</summary>
    public LibvirtException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public LibvirtException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// Runs virsh from an argument list (never a shell). Every caller validates what it puts into the list; the
/// connection URI is a <see cref="LibvirtUri"/>, which only the allow-list can produce.
/// </summary>
internal static class Virsh
{
    /// <summary>Starts <c>virsh -c URI ARGS…</c> with its output redirected; the caller owns the process.</summary>
    public static Process Start(string binary, LibvirtUri uri, IEnumerable<string> args, bool redirectInput = false)
    {
        var psi = new ProcessStartInfo(binary)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
        };
        // Parsed output (domstate, dominfo, job stats) must not be translated.
        psi.Environment["LC_ALL"] = "C";
        psi.Environment.Remove("LIBVIRT_DEFAULT_URI");
        psi.ArgumentList.Add("-q");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(uri.Value);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi) ?? throw new LibvirtException($"{binary} did not start");
    }

    /// <summary>Runs virsh to its end; cancellation kills it.</summary>
    /// <param name="binary">The virsh binary.</param>
    /// <param name="uri">The daemon.</param>
    /// <param name="args">The command and its arguments.</param>
    /// <param name="stdin">Written to standard input, then closed (e.g. <c>define /dev/stdin</c>); null for none.</param>
    /// <param name="ct">Ends the wait and kills virsh.</param>
    public static async Task<VirshResult> RunAsync(string binary, LibvirtUri uri, IEnumerable<string> args, string? stdin, CancellationToken ct)
    {
        using var process = Start(binary, uri, args, redirectInput: stdin is not null);
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            if (stdin is not null)
            {
                try
                {
                    await process.StandardInput.WriteAsync(stdin.AsMemory(), ct).ConfigureAwait(false);
                    process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // virsh quit before reading it all; its exit code and stderr say why.
                }
            }
            await process.WaitForExitAsync(ct).ConfigureAwait(false);
            return new VirshResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw;
        }
    }

    /// <summary>Kills <paramref name="process"/> if it still runs and reaps it (bounded).</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
