using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Actuators.Vm;
using SafeHaven.Cli.Commands;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Topics;
using SafeHaven.Probes;
using SafeHaven.Security;

namespace SafeHaven.Cli.Demo;

/// <summary>
/// <c>safehaven demo --vm</c>: a 128 MiB TCG guest runs as hypervisor agent hv-a's VM; the probe (as host hv-a)
/// watches its QEMU process, a <c>machine</c>-scope rule fires, the planner escalates past the levels that cannot
/// move a VM, and hv-a migrates the guest post-copy to hv-b, where it must keep beating.
/// </summary>
internal static partial class VmDemo
{
    public const string GuestName = "tenant-vm";
    public const string SourceAgent = "hv-a";
    public const string TargetAgent = "hv-b";
    private const int MemoryMb = 128;

    // Measured on this machine (1 s windows): the idle 128 MiB TCG guest's QEMU makes 700–1,250 context switches/s
    // (its vCPU thread wakes on every guest timer tick and heartbeat); idle host processes stay under 30/s.
    // Two windows above 300/s separate it with a wide margin on both sides.
    private const string Rules = """
        rules:
          - name: vm-neighbour-activity
            counter: context-switches
            threshold: 300
            scope: machine
            sustain: 2
            cooldown: 60s
        """;

    /// <summary>Runs the VM case; 0 only when the guest keeps beating at the destination.</summary>
    public static async Task<int> RunAsync(ParseResult parse, RoleFlags flags, bool json, TimeSpan period, TimeSpan timeout, string cache, string backend, CancellationToken ct)
    {
        var rules = parse.GetValue(flags.Rules) is { } file ? CommonOptions.LoadRules(file) : RulesParser.Parse(Rules, "demo --vm (built in)");
        var datacenter = HypervisorFlags.Token(parse.GetValue(flags.Datacenter), "--datacenter");
        if (Unavailable() is { } why)
        {
            return Fail(why);
        }
        (string Kernel, string Initrd) image;
        try
        {
            image = await GuestImage.EnsureAsync(cache, ct).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            return Fail("the test guest cannot be built: " + e.Message);
        }
        // SIGINT/SIGTERM must not end the process before the lab below has killed every QEMU it started.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
        ct = stop.Token;
        using var lab = new VmLab();
        try
        {
            var guest = await lab.StartGuestAsync(image, backend, ct).ConfigureAwait(false);
            if (await BootProblemAsync(guest, ct).ConfigureAwait(false) is { } problem)
            {
                return Fail(problem);
            }
            var outcome = await RunPipelineAsync(parse, flags, rules, datacenter, period, timeout, backend, lab, guest, ct).ConfigureAwait(false);
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
        catch (Exception e) when (e is IOException or QmpException or InvalidOperationException or System.ComponentModel.Win32Exception or Actuators.Vm.Libvirt.LibvirtException)
        {
            return Fail(e.Message);
        }
    }

    // The guest must beat before anything watches it; null once it does, else why not.
    private static async Task<string?> BootProblemAsync(DemoGuest guest, CancellationToken ct)
    {
        using var boot = CancellationTokenSource.CreateLinkedTokenSource(ct);
        boot.CancelAfter(TimeSpan.FromSeconds(60));
        if (await SerialHeartbeat.WaitBeyondAsync(guest.SerialPath, null, boot.Token).ConfigureAwait(false) is not null)
        {
            return null;
        }
        ct.ThrowIfCancellationRequested();
        return $"the guest did not beat within 60 s; QEMU said: {guest.Problem()}";
    }

    // Broker, probe (as host hv-a, whose process the guest's QEMU is), detector, planner and both hypervisor agents in one
    // host, until both agents reported on the move.
    private static async Task<DemoOutcome> RunPipelineAsync(ParseResult parse, RoleFlags flags, RuleSet rules, string datacenter, TimeSpan period,
        TimeSpan timeout, string backend, VmLab lab, DemoGuest guest, CancellationToken ct)
    {
        var appId = "safehaven-demo-" + Guid.NewGuid().ToString("N")[..8];
        var (detector, planner) = flags.Processors(parse, rules.Source);
        detector.ApplicationId = appId;
        using var broker = await flags.OpenBrokerAsync(parse,
            BrokerSession.AllTopics(new TopicNames(flags.TopicPrefix(parse)), flags.TopicPartitions(parse), appId), ct).ConfigureAwait(false);
        var kafka = flags.Kafka(parse, broker.Bootstrap);
        var (signer, verifier) = flags.KeysForAllInOne(parse);
        var probe = new ProbeOptions { Datacenter = datacenter, HostId = SourceAgent, Period = period, Counters = [.. rules.Counters], Pids = [guest.Pid] };
        var pipeline = new PipelineSpec(kafka) { Probe = probe, Detector = detector, Planner = planner, Rules = rules, Signer = signer };
        using var app = Pipeline.Build(pipeline, LogLevel.Warning, services => AddAgents(services, lab, backend, datacenter, verifier));
        await app.StartAsync(ct).ConfigureAwait(false);
        var outcome = await ObserveAsync(app, guest, lab.Dirs[TargetAgent], timeout, ct).ConfigureAwait(false);
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        return outcome;
    }

    private static void AddAgents(IServiceCollection services, VmLab lab, string backend, string datacenter, CommandVerifier verifier)
    {
        foreach (var agent in lab.Dirs.Keys)
        {
            // The demo shows a post-copy. At full speed the 128 MiB guest's first pass is over in 0.15–0.3 s:
            // a switch request later than that (libvirt's is a second virsh call, 0.1–0.4 s after the start;
            // QMP's follows `active` within ms, unless the host is starved) finds it across in pre-copy.
            // 64 MiB/s keeps the first pass ≈1.5 s long; post-copy runs at the full rate.
            var options = new VmActuatorOptions
            {
                Id = agent, Backend = backend, StopReceivedGuestsOnDispose = true,
                Migration = new MigrationOptions { PrecopyBandwidthBytesPerSecond = 64L << 20 },
            };
            foreach (var (id, dir) in lab.Dirs)
            {
                options.Agents[id] = dir;
                if (lab.Daemons is not null)
                {
                    options.Libvirt[id] = lab.Daemons.Uris[id];
                }
            }
            services.AddSafeHavenHypervisor(options, new ActuatorIdentity(datacenter, agent), verifier);
        }
    }

    // Both agents reported: the source on the move, the target on receiving it (a failed move may
    // leave the target waiting for a migration that never comes: the source's word is enough then).
    private static bool Settled(DemoObserver o)
    {
        var mine = o.Results.Where(r => r.Result.entity?.vm == GuestName).Select(r => r.Result).ToList();
        var source = mine.FirstOrDefault(r => !r.commandId.EndsWith(Actions.ReceiveIdSuffix, StringComparison.Ordinal));
        return source is not null && (source.status != ResultStatus.Succeeded || mine.Count >= 2);
    }

    private static async Task<DemoOutcome> ObserveAsync(IHost app, DemoGuest guest, string targetDir, TimeSpan timeout, CancellationToken ct)
    {
        var time = app.Services.GetRequiredService<TimeProvider>();
        long Now() => time.NowNs();
        var startedAt = Now();
        var observer = new DemoObserver(app.Services.GetRequiredService<KafkaClients>(), Now);
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            cts.CancelAfter(timeout);
            await ConsumeLoop.OnOwnThread(() => observer.Run(Settled, cts.Token), CancellationToken.None).ConfigureAwait(false);
        }
        var beatAtSource = SerialHeartbeat.Last(guest.SerialPath);
        var targetSerial = QemuPaths.In(targetDir, GuestName, ".serial");
        var beatAtResult = SerialHeartbeat.Last(targetSerial);
        long? beatAfter = null;
        using (var wait = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            // The guest beats every 100 ms; 5 s without a new beat means it is not running there.
            wait.CancelAfter(TimeSpan.FromSeconds(5));
            beatAfter = await SerialHeartbeat.WaitBeyondAsync(targetSerial, beatAtResult, wait.Token).ConfigureAwait(false);
            try
            {
                await guest.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Reported below as a source that is still running.
            }
        }
        var vm = new VmRun(GuestName, MemoryMb, SourceAgent, TargetAgent, beatAtSource, beatAtResult, beatAfter, guest.HasExited);
        return new DemoOutcome(0, guest.Pid, CpuList.Empty, CpuList.Empty, startedAt, observer, "", "", false, false) { Vm = vm };
    }

    private static string? Unavailable() =>
        !File.Exists(QemuGuest.Binary) ? $"{QemuGuest.Binary} is missing (apt-get install qemu-system-x86)"
        : Environment.UserName != "root" ? "post-copy migration needs userfaultfd, which this machine grants to root only: run as root"
        : null;

    private static int Fail(string message)
    {
        Console.Error.WriteLine("demo --vm: " + message);
        return ExitCodes.Failure;
    }
}
