using System.CommandLine;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Vm;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Cli.Demo;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Linux;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Topics;
using SafeHaven.Probes;
using SafeHaven.StreamProcessors.Planning;
using SafeHaven.Core;

namespace SafeHaven.Cli.Commands;

/// <summary>
/// <c>safehaven demo</c>: the covert-channel case study end to end on this machine. A benign and
/// a noisy workload run on the shared CPUs; the noisy one starts a context-switch storm; the
/// probe, detector, planner and host actuator (over the embedded broker unless --bootstrap)
/// move it onto an exclusive CPU, and the run is checked from /proc.
/// </summary>
internal static class DemoCommand
{
    private const string CgroupName = "safehaven-demo";

    public static Command Create()
    {
        var flags = new RoleFlags();
        var json = CommonOptions.Json();
        var period = new Option<string>("--period") { Description = "Sampling period", DefaultValueFactory = _ => "1s" };
        var vm = new Option<bool>("--vm") { Description = "The VM-level case: a QEMU guest detected by a machine-scope rule migrates post-copy between two hypervisor agents (needs root and qemu-system-x86_64)" };
        var guestCache = new Option<string>("--guest-cache") { Description = "With --vm: directory of the test guest (vmlinuz, initrd.gz), built there by tests/vm/build-guest.sh when missing", DefaultValueFactory = _ => GuestImage.DefaultCache };
        var backend = new Option<string>("--backend") { Description = "With --vm: how the two hypervisor agents run guests: qmp (plain QEMU) or libvirt (two private libvirt daemons; needs libvirt-daemon and libvirt-clients)", DefaultValueFactory = _ => VmBackends.Qmp };
        backend.AcceptOnlyFromAmong(VmBackends.Qmp, VmBackends.Libvirt);
        var command = new Command("demo", "Run the covert-channel case study end to end, with a timeline; --vm the VM-level case") { json, period, vm, guestCache, backend };
        flags.AddTo(command, rules: true, actuator: true);
        command.SetAction(async (parse, ct) =>
        {
            if (parse.GetResult(backend) is { Implicit: false } && !parse.GetValue(vm))
            {
                throw new UsageException("--backend applies to the VM case only: add --vm");
            }
            if (parse.GetValue(vm))
            {
                var cache = parse.GetValue(guestCache)!;
                if (!Path.IsPathRooted(cache) || cache.Any(char.IsControl) || cache.Contains(',', StringComparison.Ordinal))
                {
                    throw new UsageException($"--guest-cache '{cache}' must be an absolute path without ','");
                }
                return await VmDemo.RunAsync(parse, flags, parse.GetValue(json), CommonOptions.ParseDuration(parse.GetValue(period), "--period")!.Value,
                    CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration") ?? TimeSpan.FromSeconds(60), cache, parse.GetValue(backend)!, ct).ConfigureAwait(false);
            }
            return await RunHostCaseAsync(parse, flags, parse.GetValue(json), period, ct).ConfigureAwait(false);
        });
        return command;
    }

    // The host case: two workloads on the shared CPUs, the whole pipeline in this process, the noisy one moved.
    private static async Task<int> RunHostCaseAsync(ParseResult parse, RoleFlags flags, bool json, Option<string> period, CancellationToken ct)
    {
        var rules = parse.GetValue(flags.Rules) is { } file ? CommonOptions.LoadRules(file) : BuiltInRules();
        var cgroup = parse.GetResult(flags.Cgroup) is { Implicit: false } ? parse.GetValue(flags.Cgroup)! : CgroupName;
        var (actuatorOptions, identity) = flags.Actuator(parse, cgroup);
        if (parse.GetResult(flags.StateDir) is not { Implicit: false })
        {
            // A demo is self-contained: its command journal lives and dies with the run.
            actuatorOptions.StateDirectory = "";
        }
        var appId = "safehaven-demo-" + Guid.NewGuid().ToString("N")[..8];
        var (detector, planner) = flags.Processors(parse, rules.Source);
        detector.ApplicationId = appId;
        var samplePeriod = CommonOptions.ParseDuration(parse.GetValue(period), "--period")!.Value;
        var timeout = CommonOptions.ParseDuration(parse.GetValue(flags.Duration), "--duration") ?? TimeSpan.FromSeconds(60);
        using var broker = await flags.OpenBrokerAsync(parse,
            BrokerSession.AllTopics(new TopicNames(flags.TopicPrefix(parse)), flags.TopicPartitions(parse), appId), ct).ConfigureAwait(false);
        using var benign = await Workload.StartAsync("benign", TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        using var noisy = await Workload.StartAsync("noisy", TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        var probe = new ProbeOptions
        {
            Datacenter = identity.Datacenter, HostId = identity.Host, Period = samplePeriod,
            Counters = [.. rules.Counters], Pids = [benign.Pid, noisy.Pid],
            // Early publication: the probe learns the thresholds of the rules the detector runs.
            Rules = rules,
        };
        var kafka = flags.Kafka(parse, broker.Bootstrap);
        var (signer, verifier) = flags.KeysForAllInOne(parse);
        var spec = new PipelineSpec(kafka)
        {
            Probe = probe, Detector = detector, Planner = planner, Rules = rules, Actuator = actuatorOptions, Identity = identity,
            Signer = signer, Verifier = verifier,
            // Every role runs here: each seals what it writes and the planner checks it (docs/SECURITY.md).
            Seals = PipelineSpec.AllInOne(identity, actuatorOptions.Id, actuatorOptions.StateDirectory),
            Telemetry = flags.Telemetry.Read(parse, "demo"),
        };
        try
        {
            using var app = Pipeline.Build(spec, LogLevel.Warning);
            var actuator = app.Services.GetRequiredService<HostActuator>();
            Enrol(actuator, benign, noisy);
            await app.StartAsync(ct).ConfigureAwait(false);
            var outcome = await RunAsync(app, kafka, actuatorOptions, actuator, benign, noisy, samplePeriod, timeout, ct).ConfigureAwait(false);
            await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            if (json)
            {
                DemoReport.WriteJson(outcome, Console.OpenStandardOutput());
            }
            else
            {
                DemoReport.WriteTimeline(outcome, Console.Out);
            }
            return outcome.Succeeded ? ExitCodes.Ok : ExitCodes.Failure;
        }
        finally
        {
            benign.Dispose();
            noisy.Dispose();
            CpusetDetector.Detect(cgroup).Cleanup();
        }
    }

    // Monitored workloads live on the shared CPUs, off the isolation pool, from the start.
    private static void Enrol(HostActuator actuator, params Workload[] workloads)
    {
        foreach (var w in workloads)
        {
            var enrolled = actuator.Enrol(w.Pid);
            if (!enrolled.Succeeded)
            {
                throw new InvalidOperationException($"could not enrol the {w.Kind} workload: {enrolled.Error}");
            }
        }
    }

    private static async Task<DemoOutcome> RunAsync(IHost app, KafkaOptions kafka, HostActuatorOptions options, HostActuator actuator,
        Workload benign, Workload noisy, TimeSpan period, TimeSpan timeout, CancellationToken ct)
    {
        var time = app.Services.GetRequiredService<TimeProvider>();
        long Now() => time.NowNs();
        var observer = new DemoObserver(app.Services.GetRequiredService<KafkaClients>(), Now);
        var planner = app.Services.GetRequiredService<PlannerReadiness>();
        var goAt = 0L;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        ITimer? go = null;
        var watching = ConsumeLoop.OnOwnThread(() => observer.Run(o =>
        {
            // Once the benign workload has been seen in two samples and the planner has read the inventory
            // (under load its lease can take seconds) the pipeline is in steady state. The storm then starts
            // at a random point of the sampling period, as an attack would, and detection time is measured
            // from that instant.
            if (go is null && planner.Ready && o.Samples.Count(s => s.Sample.entity.pid == benign.Pid) >= 2)
            {
                var offset = TimeSpan.FromTicks(Random.Shared.NextInt64(period.Ticks));
                go = time.CreateTimer(_ =>
                {
                    Interlocked.Exchange(ref goAt, Now());
                    noisy.Go();
                }, null, offset, Timeout.InfiniteTimeSpan);
            }
            return o.Results.Any(r => r.Result.entity.pid == noisy.Pid);
        }, cts.Token), CancellationToken.None);
        await watching.ConfigureAwait(false);
        go?.Dispose();
        var noisyCheck = ThreadVerifier.Verify(noisy.Pid, options.Pool);
        var benignCheck = ThreadVerifier.Verify(benign.Pid, actuator.SharedCpus);
        return new DemoOutcome(benign.Pid, noisy.Pid, options.Pool, actuator.SharedCpus, goAt, observer,
            Describe(noisy.Pid), Describe(benign.Pid), noisyCheck.Ok, benignCheck.Ok);
    }

    private static string Describe(int pid) =>
        string.Join(" ", ProcFs.Default.ThreadIds(pid).Select(t => ProcFs.Default.ThreadCpusAllowed(pid, t)?.ToString()).Distinct());

    private static RuleSet BuiltInRules()
    {
        using var stream = typeof(DemoCommand).Assembly.GetManifestResourceStream("covert-channel.yaml")!;
        using var reader = new StreamReader(stream);
        return RulesParser.Parse(reader.ReadToEnd(), "examples/rules/covert-channel.yaml (built in)");
    }
}
