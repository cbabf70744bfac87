using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>
/// A source agent restarted while its container was stopped for a move, with what the crash left behind: a target
/// that claimed the restore and is silent, a lazy-pages dump still serving. Plain sleeps stand in for containers.
/// </summary>
public sealed class ContainerOrphanTests : IDisposable
{
    private const int Ports = 27360, SigStop = 19;
    private readonly ContainerSandbox _box = new();
    private readonly List<Process> _listeners = [];
    // The agents' clock: commands are issued and checked for their deadline on it, whatever the machine's load.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    private async Task<IsolationResult> RestartAsync(CriuOptions criu)
    {
        var now = _time.NowNs();
        var cmd = new IsolationCommand
        {
            commandId = "cmd-1", entity = new EntityRef { datacenter = "dc", host = "h", container = "web" }, level = Levels.Container,
            action = Actions.Isolate, source = "host-a", target = "host-b", issuedAtNs = now, deadlineNs = now + 60_000_000_000, reasons = [], signature = [],
        };
        var path = _box.File("host-a.journal");
        using (var journal = CommandJournal.Open(path))
        {
            journal.Started(cmd);
        }
        using var restarted = new ContainerActuator(new ContainerActuatorOptions
        {
            Id = "host-a", Agents = { ["host-a"] = _box.A.Root, ["host-b"] = _box.B.Root }, Criu = criu,
        }, _time, journal: CommandJournal.Open(path));
        return Assert.Single(await restarted.ReconcileAsync());
    }

    private static async Task StopAsync(int pid)
    {
        ProcessTree.Signal([pid], SigStop);
        for (var i = 0; i < 1000 && ProcFs.Default.State(pid) != 'T'; i++)
        {
            await Task.Delay(10);
        }
        Assert.Equal('T', ProcFs.Default.State(pid));
    }

    [Fact]
    public async Task A_target_that_claimed_the_restore_and_is_silent_keeps_the_source_stopped_as_long_as_it_may_take()
    {
        using var criu = new FakeCriu(_box.Root);
        var web = criu.Start(_box.A, "web");
        await StopAsync(web.InitPid);
        var handoff = new Handoff(_box.B.Incoming("web"), "cmd-1");
        handoff.Reset();
        Assert.Equal("restore", handoff.Decide("restore"));
        var waited = Stopwatch.StartNew();

        var result = await RestartAsync(criu.Options(Ports));

        Assert.True(result.status == ResultStatus.Failed, result.error);
        Assert.Contains("claimed the restore of container 'web' and gave no verdict: the stopped copy here is kept", result.error, StringComparison.Ordinal);
        Assert.Equal('T', ProcFs.Default.State(web.InitPid));
        var options = criu.Options(Ports);
        Assert.True(waited.Elapsed >= options.PrepareTimeout + options.CriuTimeout + options.VerifyTimeout - TimeSpan.FromMilliseconds(100),
            $"gave up after {waited.Elapsed}");
    }

    [Fact]
    public async Task A_lazy_pages_dump_of_the_move_is_ended_when_the_source_resumes_and_no_other_process_is_touched()
    {
        using var criu = new FakeCriu(_box.Root);
        var web = criu.Start(_box.A, "web");
        await StopAsync(web.InitPid);
        new Handoff(_box.B.Incoming("web"), "cmd-1").Reset();
        var tree = web.InitPid.ToString(CultureInfo.InvariantCulture);
        var orphan = Listen("dump", "--tree", tree, "--images-dir", _box.A.Outgoing("web"), "--lazy-pages");
        var otherTree = Listen("dump", "--tree", tree, "--images-dir", _box.A.Outgoing("web-2"), "--lazy-pages");
        var notLazy = Listen("dump", "--tree", tree, "--images-dir", _box.A.Outgoing("web"), "--page-server");

        var result = await RestartAsync(criu.Options(Ports));

        Assert.Contains("resumed at the source agent 'host-a'", result.error, StringComparison.Ordinal);
        Assert.True(FakeCriu.Runs(web.InitPid));
        Assert.True(orphan.WaitForExit(5000), "the orphaned lazy-pages dump still runs");
        Assert.False(otherTree.HasExited, "a dump into another directory was killed");
        Assert.False(notLazy.HasExited, "a page-server dump was killed");
    }

    [Fact]
    public void Only_the_process_that_holds_the_listening_socket_is_taken_for_the_listener()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var other = Process.Start(new ProcessStartInfo("/bin/sleep", "30") { UseShellExecute = false })!;

        Assert.True(ContainerMigrator.TcpListening(port));
        Assert.True(ContainerMigrator.ListensOn(Environment.ProcessId, port));
        Assert.False(ContainerMigrator.ListensOn(other.Id, port));
        other.Kill();
    }

    // A python3 listening on a free port of this class, with criu's dump arguments after its own: what an orphaned dump looks like in /proc.
    private Process Listen(params string[] args)
    {
        // Each listener listens before the next one looks.
        var port = Enumerable.Range(Ports, 15).First(p => !ContainerMigrator.TcpListening(p));
        var psi = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in new[] { "-c", "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', PORT)); s.listen(); print('ready', flush=True); time.sleep(1000)".Replace("PORT", Num(port), StringComparison.Ordinal) }
            .Concat(args).Concat(["--port", Num(port)]))
        {
            psi.ArgumentList.Add(a);
        }
        var p = Process.Start(psi)!;
        _listeners.Add(p);
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        return p;
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);

    public void Dispose()
    {
        foreach (var p in _listeners)
        {
            if (!p.HasExited)
            {
                p.Kill();
            }
            p.Dispose();
        }
        _box.Dispose();
    }
}
