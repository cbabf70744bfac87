using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;

namespace SafeHaven.Benchmarks;

/// <summary>
/// One core-level move of a real 4-thread busy process, including verification from /proc:
/// cpuset.cpus rewrite + sched_setaffinity on every thread + reading every thread's mask back.
/// Alternates between the lowest and the highest online CPU. Needs root and a cpuset hierarchy.
/// </summary>
[MemoryDiagnoser]
public class CoreMoveBenchmarks
{
    private Process? _busy;
    private ICpusetController? _cpusets;
    private CoreIsolator? _isolator;
    private CpuList _a = CpuList.Empty, _b = CpuList.Empty;
    private bool _flip;

    [GlobalSetup]
    public void Setup()
    {
        var online = OnlineCpus.Read();
        _a = CpuList.Of([online.Cpus.Min()]);
        _b = CpuList.Of([online.Cpus.Max()]);
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-c", "import threading\ndef spin():\n    while True: pass\nfor _ in range(4): threading.Thread(target=spin, daemon=True).start()\nprint('ready', flush=True)\nthreading.Event().wait()" })
        {
            info.ArgumentList.Add(arg);
        }
        _busy = Process.Start(info)!;
        _busy.StandardOutput.ReadLine();
        _cpusets = CpusetDetector.Detect("safehaven-bench-" + Environment.ProcessId);
        _isolator = new CoreIsolator(_cpusets);
        var enrolled = _isolator.Enrol(_busy.Id, _a);
        if (!enrolled.Succeeded)
        {
            throw new InvalidOperationException(enrolled.Error);
        }
    }

    [Benchmark(Description = "isolate: cpuset + affinity (5 threads) + verify")]
    public bool Isolate()
    {
        _flip = !_flip;
        var outcome = _isolator!.Isolate(_busy!.Id, _flip ? _b : _a);
        return outcome.Succeeded ? true : throw new InvalidOperationException(outcome.Error);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _busy?.Kill();
        _busy?.WaitForExit();
        _cpusets?.Cleanup();
    }
}
