using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Core;
using SafeHaven.Linux;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Benchmarks;

/// <summary>
/// The host agent's check of one command, without the move: <see cref="HostActuator.Execute"/> on a signed dry-run
/// command for a live sleep process (id, signature, addressee, duplicate, level, deadline, the /proc start time,
/// protected processes, slot holders). Dry runs are not journalled, so the same command can be checked again.
/// </summary>
[MemoryDiagnoser]
public class AgentCheckBenchmarks
{
    private Process? _sleeper;
    private HostActuator _actuator = null!;
    private IsolationCommand _command = null!;
    private CommandSigner _signer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _sleeper = Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        _signer = CommandSigner.Ephemeral(out var verifier);
        var pool = CpuList.Of([OnlineCpus.Read().Cpus.Max()]);
        var options = new HostActuatorOptions { Id = "act-bench", IsolationCpus = pool, CgroupName = "safehaven-bdn-unused", StateDirectory = "" };
        _actuator = new HostActuator(options, new CoreIsolator(CpusetDetector.Detect(options.CgroupName)), verifier: verifier);
        var now = TimeProvider.System.NowNs();
        _command = new IsolationCommand
        {
            commandId = "c-bench-core", detectionId = "bench",
            entity = new EntityRef { datacenter = "dc1", host = "bench", pid = _sleeper.Id, comm = "sleep", startTime = ProcFs.Default.StartTime(_sleeper.Id) },
            level = Levels.Core, action = Actions.Isolate, source = "act-bench", target = pool.ToString(), issuedAtNs = now,
            deadlineNs = now + 3_600_000_000_000, dryRun = true, reasons = ["level core: exclusive CPU"], group = "bench", signature = [],
        };
        _signer.Sign(_command);
    }

    [Benchmark(Description = "agent: check a signed command (dry run, no move)")]
    public string Check() => _actuator.Execute(_command) is { status: ResultStatus.Skipped } r ? r.status : throw new InvalidOperationException("not a dry run");

    [GlobalCleanup]
    public void Cleanup()
    {
        _sleeper?.Kill();
        _sleeper?.WaitForExit();
        _signer.Dispose();
    }
}
