using System.Diagnostics;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Tests;

/// <summary>A real python3 child with busy threads; a line on stdin starts one more thread.</summary>
internal sealed class BusyProcess : IDisposable
{
    private const string Script = """
        import sys, threading
        def busy():
            while True:
                pass
        for _ in range(int(sys.argv[1])):
            threading.Thread(target=busy, daemon=True).start()
        print("ready", flush=True)
        for line in sys.stdin:
            threading.Thread(target=busy, daemon=True).start()
            print("spawned", flush=True)
        """;

    private readonly Process _process;

    public BusyProcess(int threads = 4)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Script);
        psi.ArgumentList.Add(threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _process = Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start");
        ExpectLine("ready");
    }

    public int Pid => _process.Id;

    /// <summary>Starts one more busy thread and waits until python reports it running.</summary>
    public void SpawnThread()
    {
        _process.StandardInput.WriteLine("go");
        _process.StandardInput.Flush();
        ExpectLine("spawned");
    }

    /// <summary>Kills the process and waits until it is reaped, so /proc/PID is gone.</summary>
    public void KillAndReap()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    private void ExpectLine(string expected)
    {
        string? line;
        try
        {
            line = _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"python3 did not print '{expected}' within 20 s");
        }
        Assert.Equal(expected, line);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                KillAndReap();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}

/// <summary>A real python3 child whose threads never stop starting short-lived threads: its thread list keeps changing.</summary>
internal sealed class SpawningProcess : IDisposable
{
    private const string Script = """
        import threading, time
        def churn():
            while True:
                threading.Thread(target=time.sleep, args=(0.02,), daemon=True).start()
                time.sleep(0.0005)
        for _ in range(3):
            threading.Thread(target=churn, daemon=True).start()
        print("ready", flush=True)
        threading.Event().wait()
        """;

    private readonly Process _process;

    private SpawningProcess(Process process) => _process = process;

    public static SpawningProcess Start()
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Script);
        var spawner = new SpawningProcess(Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start"));
        var line = spawner._process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
        Assert.Equal("ready", line);
        return spawner;
    }

    public int Pid => _process.Id;

    public bool IsRunning => !_process.HasExited;

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
