using System.Diagnostics;

namespace SafeHaven.Probes.Tests;

/// <summary>A workload process started by a test and killed when the test ends.</summary>
public sealed class ChildProcess : IDisposable
{
    public const string Python = "/usr/bin/python3";

    private readonly Process _process;

    private ChildProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public Process Process => _process;

    public static ChildProcess Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardInput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return new ChildProcess(Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}"));
    }

    public static ChildProcess PythonScript(string script) => Start(Python, "-c", script);

    /// <summary>An idle process: blocked in a read of its stdin.</summary>
    public static ChildProcess Idle() => Start("/bin/sh", "-c", "read x");

    public void Signal(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    public void KillAndWait()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            KillAndWait();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
