using System.Diagnostics;
using System.Reflection;

namespace SafeHaven.Cli.Demo;

/// <summary>A demo workload: a child process of this very CLI (<c>safehaven workload KIND</c>).</summary>
internal sealed class Workload : IDisposable
{
    private readonly Process _process;

    private Workload(Process process, string kind)
    {
        _process = process;
        Kind = kind;
    }

    public string Kind { get; }

    public int Pid => _process.Id;

    /// <summary>Starts the workload and waits until it says <c>ready</c>.</summary>
    public static async Task<Workload> StartAsync(string kind, TimeSpan timeout, CancellationToken ct)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell this program's path");
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        // Run through the dotnet host when that is how this CLI was started.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }
        info.ArgumentList.Add("workload");
        info.ArgumentList.Add(kind);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start the {kind} workload");
        var workload = new Workload(process, kind);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            var line = await process.StandardOutput.ReadLineAsync(cts.Token).ConfigureAwait(false);
            if (line != "ready")
            {
                throw new InvalidOperationException($"{kind} workload did not start (said '{line}')");
            }
        }
        catch
        {
            workload.Dispose();
            throw;
        }
        return workload;
    }

    /// <summary>Tells a noisy workload to start its storm.</summary>
    public void Go()
    {
        _process.StandardInput.WriteLine("go");
        _process.StandardInput.Flush();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
