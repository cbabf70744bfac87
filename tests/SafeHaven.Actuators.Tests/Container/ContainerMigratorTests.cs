using SafeHaven.Actuators.Container;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>
/// Real CRIU moves of a namespaced 3-process container between two agent directories of this machine; skipped
/// with the reason where the private criu (deploy/criu/install-criu.sh) is missing or <c>criu check</c> fails.
/// </summary>
public sealed class ContainerMigratorTests : IDisposable
{
    private const int Ports = 27300;
    private readonly ContainerSandbox _box = new();

    [SkippableFact]
    [Trait("Category", "Integration")]
    public async Task Container_moves_through_the_page_server_resumes_counting_and_leaves_nothing_at_the_source()
    {
        Skip.If(CriuHost.Problem is not null, CriuHost.Problem);
        var options = CriuHost.Options(Ports);
        var hb = _box.File("c1.hb");
        var started = await NamespacedContainer.StartAsync(_box.A, CriuHost.Spec("c1", hb), options);
        await CriuHost.BeatsAsync(hb, null);
        var oldTree = ProcessTree.Of(started.InitPid);
        Assert.True(oldTree.Count >= 3, $"expected init, heartbeat and sleep, saw {oldTree.Count} processes");

        var moved = await ContainerMigrator.MigrateAsync(_box.A, _box.B, "c1", options);

        Assert.True(moved.Succeeded, moved.Error);
        Assert.Equal("host-b", moved.ContainerAt);
        Assert.All(new[] { "prepare", "dump", "transfer", "restore", "verify", "release" }, p => Assert.True(moved.PhasesNs.GetValueOrDefault(p) > 0, $"phase {p} missing"));
        Assert.True(moved.TotalNs >= moved.PhasesNs["dump"] + moved.PhasesNs["restore"]);
        Assert.True(moved.PageBytes > 0 && moved.MetadataBytes > 0, $"pages {moved.PageBytes}, metadata {moved.MetadataBytes}");
        Assert.NotNull(moved.DowntimeNs);
        Assert.All(oldTree, pid => Assert.True(ProcFs.Default.State(pid) is null or 'Z', $"source process {pid} still there ({ProcFs.Default.State(pid)})"));
        Assert.Null(_box.A.Load("c1"));
        Assert.False(Directory.Exists(_box.A.Outgoing("c1")), "the source's dump images are left");
        Assert.False(Directory.Exists(Path.Join(_box.B.Incoming("c1"), "images")), "the tenant's memory image is left at the target");
        var now = _box.B.Load("c1");
        Assert.NotNull(now);
        Assert.True(now.IsRunning);
        Assert.Equal(moved.InitPid, now.InitPid);
        Assert.Equal("host-a", now.MovedFrom);
        Assert.DoesNotContain(now.InitPid, oldTree);
        Assert.True(ProcessTree.Of(now.InitPid).Count >= 3);
        // It counts on from where it stopped, not from 1.
        var (first, last) = moved.Heartbeats!.Value;
        Assert.True(first > 2 && last > first);
        await CriuHost.BeatsAsync(hb, last, beats: 3);

        // And a restored container moves again, back to where it came from.
        var back = await ContainerMigrator.MigrateAsync(_box.B, _box.A, "c1", options);
        Assert.True(back.Succeeded, back.Error);
        Assert.Equal("host-a", back.ContainerAt);
        Assert.Null(_box.B.Load("c1"));
        await CriuHost.BeatsAsync(hb, back.Heartbeats!.Value.Last);
    }

    [SkippableFact]
    [Trait("Category", "Integration")]
    public async Task Unreachable_page_server_fails_the_dump_and_the_container_keeps_running_at_the_source()
    {
        Skip.If(CriuHost.Problem is not null, CriuHost.Problem);
        var options = CriuHost.Options(Ports);
        var hb = _box.File("c2.hb");
        var started = await NamespacedContainer.StartAsync(_box.A, CriuHost.Spec("c2", hb), options);
        await CriuHost.BeatsAsync(hb, null);
        // A target that says it is ready, on a port where nothing listens.
        var handoff = new Handoff(_box.B.Incoming("c2"), "move-unreachable");
        handoff.Reset();
        // Outside every range the tests' page servers use, so no page server can appear there meanwhile.
        var port = Enumerable.Range(CriuHost.UnusedPorts, 100).First(p => !ContainerMigrator.TcpListening(p));
        handoff.WriteTicket(new Ticket("move-unreachable", CriuPageMode.PageServer, "127.0.0.1", port));

        var moved = await ContainerMigrator.SendAsync(_box.A, _box.B, "c2", "move-unreachable", options);

        Assert.False(moved.Succeeded);
        Assert.Equal("host-a", moved.ContainerAt);
        Assert.Contains("criu dump failed", moved.Error, StringComparison.Ordinal);
        Assert.Contains("kept running at the source", moved.Error, StringComparison.Ordinal);
        var record = _box.A.Load("c2");
        Assert.NotNull(record);
        Assert.Equal(started.InitPid, record.InitPid);
        Assert.True(record.IsRunning);
        Assert.All(ProcessTree.Of(started.InitPid), pid => Assert.NotEqual('T', ProcFs.Default.State(pid)));
        await CriuHost.BeatsAsync(hb, null, beats: 3);
    }

    [SkippableFact]
    [Trait("Category", "Integration")]
    public async Task Failed_restore_at_the_target_resumes_the_stopped_source_copy()
    {
        Skip.If(CriuHost.Problem is not null, CriuHost.Problem);
        var options = CriuHost.Options(Ports);
        var hb = _box.File("c5.hb");
        var started = await NamespacedContainer.StartAsync(_box.A, CriuHost.Spec("c5", hb), options);
        await CriuHost.BeatsAsync(hb, null);
        // The target's criu serves pages as usual but fails every restore.
        var broken = _box.File("broken-criu");
        File.WriteAllText(broken, $"#!/bin/sh\n[ \"$1\" = restore ] && {{ echo 'restore refused by the test' >&2; exit 3; }}\nexec {options.Binary} \"$@\"\n");
        File.SetUnixFileMode(broken, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var targetOptions = CriuHost.Options(Ports);
        targetOptions.Binary = broken;

        var receive = ContainerMigrator.ReceiveAsync(_box.B, "host-a", "c5", "move-broken", targetOptions);
        var sent = await ContainerMigrator.SendAsync(_box.A, _box.B, "c5", "move-broken", options);
        var received = await receive;

        Assert.False(received.Succeeded);
        Assert.Contains("restore refused by the test", received.Error, StringComparison.Ordinal);
        Assert.False(sent.Succeeded);
        Assert.Equal("host-a", sent.ContainerAt);
        Assert.Contains("kept running at the source", sent.Error, StringComparison.Ordinal);
        Assert.True(sent.PhasesNs.ContainsKey("dump"), "the dump happened before the restore failed");
        Assert.True(_box.A.Load("c5")!.IsRunning);
        Assert.Null(_box.B.Load("c5"));
        Assert.False(Directory.Exists(_box.A.Outgoing("c5")), "the failed dump's images are left at the source");
        Assert.False(Directory.Exists(Path.Join(_box.B.Incoming("c5"), "images")), "the pages are left at the target");
        Assert.All(ProcessTree.Of(started.InitPid), pid => Assert.NotEqual('T', ProcFs.Default.State(pid)));
        await CriuHost.BeatsAsync(hb, null, beats: 3);
    }

    [SkippableFact]
    [Trait("Category", "Integration")]
    public async Task Target_that_never_prepares_leaves_the_container_untouched()
    {
        Skip.If(CriuHost.Problem is not null, CriuHost.Problem);
        var options = CriuHost.Options(Ports);
        options.PrepareTimeout = TimeSpan.FromMilliseconds(300);
        var hb = _box.File("c3.hb");
        await NamespacedContainer.StartAsync(_box.A, CriuHost.Spec("c3", hb), options);

        var moved = await ContainerMigrator.SendAsync(_box.A, _box.B, "c3", "move-lonely", options);

        Assert.False(moved.Succeeded);
        Assert.Equal("host-a", moved.ContainerAt);
        Assert.Contains("prepared no incoming side", moved.Error, StringComparison.Ordinal);
        Assert.False(moved.PhasesNs.ContainsKey("dump"));
        Assert.True(_box.A.Load("c3")!.IsRunning);
        await CriuHost.BeatsAsync(hb, null);
    }

    [SkippableFact]
    [Trait("Category", "Integration")]
    public async Task Container_moves_with_lazy_pages_post_copy()
    {
        Skip.If(CriuHost.LazyProblem is not null, CriuHost.LazyProblem);
        var options = CriuHost.Options(Ports, CriuPageMode.LazyPages);
        var hb = _box.File("c4.hb");
        var started = await NamespacedContainer.StartAsync(_box.A, CriuHost.Spec("c4", hb, memoryMb: 32), options);
        await CriuHost.BeatsAsync(hb, null);
        var oldTree = ProcessTree.Of(started.InitPid);

        var moved = await ContainerMigrator.MigrateAsync(_box.A, _box.B, "c4", options);

        Assert.True(moved.Succeeded, moved.Error);
        Assert.Equal(CriuPageMode.LazyPages, moved.Mode);
        Assert.True(moved.PhasesNs.ContainsKey("postcopy"));
        Assert.All(oldTree, pid => Assert.True(ProcFs.Default.State(pid) is null or 'Z'));
        Assert.True(_box.B.Load("c4")!.IsRunning);
        Assert.False(Directory.Exists(Path.Join(_box.B.Incoming("c4"), "images")), "the images are left once every page arrived");
        await CriuHost.BeatsAsync(hb, moved.Heartbeats!.Value.Last, beats: 3);
    }

    public void Dispose() => _box.Dispose();
}
