using System.Text.Json.Nodes;
using SafeHaven.Actuators.Vm;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>
/// When the migrator asks for post-copy, and what it does when that goes wrong, against scripted QEMU monitors.
/// QEMU 7.2 reads the request between iterations: asked during setup it switches before any page went in bulk;
/// asked once the first pass runs, after that one iteration.
/// </summary>
public sealed class QmpMigratorSwitchTests : IDisposable
{
    private const long StopUs = 1_700_000_000_000_000, ResumeUs = StopUs + 4_200;
    private readonly string _dir = Directory.CreateTempSubdirectory("shqmpsw-").FullName;
    private readonly CancellationTokenSource _deadline = new(TimeSpan.FromSeconds(30));

    public void Dispose()
    {
        _deadline.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    // A source that is in setup for its first query, then active with one more pass per query, and completes one
    // query after the switch; the destination resumes when the source switches. `onSwitch` may refuse the request.
    private (FakeQmp Source, FakeQmp Destination, List<string> Replies) Pair(Action? onSwitch = null)
    {
        var destination = new FakeQmp(Path.Join(_dir, "dst.qmp"), (command, _, _) =>
            command == "query-status" ? new JsonObject { ["status"] = "running" } : null, _deadline.Token);
        var replies = new List<string>();
        var (switched, queries) = (false, 0);
        var source = new FakeQmp(Path.Join(_dir, "src.qmp"), (command, _, qmp) =>
        {
            switch (command)
            {
                case "migrate-start-postcopy":
                    switched = true;
                    qmp.Emit("MIGRATION", new JsonObject { ["status"] = "postcopy-active" });
                    qmp.Emit("STOP", emittedUs: StopUs);
                    destination.Emit("RESUME", emittedUs: ResumeUs);
                    onSwitch?.Invoke();
                    return null;
                case "query-migrate":
                    var status = switched ? "completed" : ++queries == 1 ? "setup" : "active";
                    if (status == "active")
                    {
                        qmp.Emit("MIGRATION_PASS", new JsonObject { ["pass"] = queries - 1 });
                    }
                    replies.Add(status);
                    return new JsonObject { ["status"] = status, ["ram"] = new JsonObject { ["transferred"] = 5_000_000 } };
                default:
                    return null;
            }
        }, _deadline.Token);
        return (source, destination, replies);
    }

    private async Task<(MigrationOutcome Outcome, List<string> Commands, List<string> Replies, JsonObject Parameters)> MigrateAsync(
        MigrationOptions options, Action? onSwitch = null)
    {
        var (sourceFake, destinationFake, replies) = Pair(onSwitch);
        await using (sourceFake)
        await using (destinationFake)
        {
            await using var source = await QmpClient.ConnectAsync(sourceFake.SocketPath, null, _deadline.Token);
            await using var destination = await QmpClient.ConnectAsync(destinationFake.SocketPath, null, _deadline.Token);
            var outcome = await QmpMigrator.MigrateAsync(source, destination, "unix:" + Path.Join(_dir, "mig"), null, null, options, _deadline.Token);
            var commands = sourceFake.Commands;
            return (outcome, [.. commands.Select(c => c.Command)], replies, commands.Single(c => c.Command == "migrate-set-parameters").Arguments!);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData(64L << 20)]
    public async Task By_default_post_copy_is_requested_once_the_first_pass_runs(long? precopyCap)
    {
        // Given the default (post-copy after one pre-copy iteration), with or without a pre-copy cap
        var options = new MigrationOptions { PrecopyBandwidthBytesPerSecond = precopyCap };

        // When the guest migrates
        var (outcome, commands, replies, parameters) = await MigrateAsync(options);

        // Then the request follows the first query that found the pass running: not during setup, not later
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal("postcopy", outcome.Mode);
        Assert.Equal(["setup", "active", "completed"], replies);
        Assert.Equal(["migrate", "query-migrate", "query-migrate", "migrate-start-postcopy", "query-migrate"], commands.SkipWhile(c => c != "migrate"));
        Assert.Equal(precopyCap ?? options.MaxBandwidthBytesPerSecond, (long)parameters["max-bandwidth"]!);
        Assert.Equal(options.MaxBandwidthBytesPerSecond, (long)parameters["max-postcopy-bandwidth"]!);
        Assert.Equal(4_200_000, outcome.DowntimeNs);
        Assert.Equal(5_000_000, outcome.BytesTransferred);
        Assert.Contains("postcopy", outcome.PhasesNs.Keys);
    }

    [Fact]
    public async Task With_pre_copy_passes_the_switch_waits_for_them()
    {
        var options = new MigrationOptions { PrecopyPassesBeforePostcopy = 2 };

        var (outcome, commands, replies, parameters) = await MigrateAsync(options);

        Assert.True(outcome.Succeeded, outcome.Error);
        // Passes are counted from MIGRATION_PASS (pass N starts once N−1 completed): the switch follows pass 3's report.
        Assert.Equal(["setup", "active", "active", "active", "completed"], replies);
        Assert.Equal("migrate-start-postcopy", commands[commands.LastIndexOf("query-migrate") - 1]);
        Assert.Equal(options.MaxBandwidthBytesPerSecond, (long)parameters["max-postcopy-bandwidth"]!);
    }

    [Fact]
    public async Task A_refused_switch_cancels_the_pre_copy_and_keeps_the_guest_at_the_source()
    {
        // QEMU refuses the request: nothing switched, so cancelling is safe (after the switch settle time)
        var source = new FakeQmp(Path.Join(_dir, "r-src.qmp"), (command, _, _) => command switch
        {
            "migrate-start-postcopy" => throw new FakeQmp.QemuError("Postcopy must be started after migration has been started"),
            "query-migrate" => new JsonObject { ["status"] = "active" },
            "query-status" => new JsonObject { ["status"] = "running" },
            _ => null,
        }, _deadline.Token);
        var destination = new FakeQmp(Path.Join(_dir, "r-dst.qmp"), (_, _, _) => null, _deadline.Token);
        await using (source)
        await using (destination)
        {
            await using var src = await QmpClient.ConnectAsync(source.SocketPath, null, _deadline.Token);
            await using var dst = await QmpClient.ConnectAsync(destination.SocketPath, null, _deadline.Token);

            var outcome = await QmpMigrator.MigrateAsync(src, dst, "unix:" + Path.Join(_dir, "mig"), null, null, new MigrationOptions(), _deadline.Token);

            Assert.False(outcome.Succeeded);
            Assert.Equal("source", outcome.GuestAt);
            Assert.Contains("Postcopy must be started", outcome.Error, StringComparison.Ordinal);
            Assert.Contains(source.Commands, c => c.Command == "migrate_cancel");
            Assert.Contains(destination.Commands, c => c.Command == "stop");
        }
    }

    [Fact]
    public async Task A_switch_that_landed_although_its_reply_failed_is_never_cancelled()
    {
        // QEMU acted on the request (post-copy, destination resumed) but the reply is an error: the guest now runs at
        // the destination, and cancelling would restart the source beside it.
        var (outcome, commands, _, _) = await MigrateAsync(new MigrationOptions(), onSwitch: () => throw new FakeQmp.QemuError("reply lost"));

        Assert.False(outcome.Succeeded);
        Assert.Equal("split", outcome.GuestAt);
        Assert.DoesNotContain("migrate_cancel", commands);
        Assert.DoesNotContain("cont", commands);
    }

    [Fact]
    public async Task Pure_pre_copy_never_asks_for_post_copy_nor_sets_its_bandwidth()
    {
        var source = new FakeQmp(Path.Join(_dir, "pre.qmp"), (command, _, qmp) =>
        {
            if (command == "query-migrate")
            {
                qmp.Emit("STOP", emittedUs: StopUs);
                return new JsonObject { ["status"] = "completed" };
            }
            return null;
        }, _deadline.Token);
        var destination = new FakeQmp(Path.Join(_dir, "pre-dst.qmp"), (command, _, _) =>
            command == "query-status" ? new JsonObject { ["status"] = "running" } : null, _deadline.Token);
        await using (source)
        await using (destination)
        {
            await using var src = await QmpClient.ConnectAsync(source.SocketPath, null, _deadline.Token);
            await using var dst = await QmpClient.ConnectAsync(destination.SocketPath, null, _deadline.Token);
            var migrating = QmpMigrator.MigrateAsync(src, dst, "unix:" + Path.Join(_dir, "mig"), null, null,
                new MigrationOptions { Postcopy = false }, _deadline.Token);
            // The destination resumes once the source stopped (the migrator waits for both events).
            await src.WaitForEventAsync(e => e.Name == "STOP", 0, _deadline.Token);
            destination.Emit("RESUME", emittedUs: ResumeUs);
            var outcome = await migrating;

            Assert.True(outcome.Succeeded, outcome.Error);
            Assert.Equal("precopy", outcome.Mode);
            Assert.DoesNotContain(source.Commands, c => c.Command == "migrate-start-postcopy");
            var parameters = source.Commands.Single(c => c.Command == "migrate-set-parameters").Arguments!;
            Assert.False(parameters.ContainsKey("max-postcopy-bandwidth"));
            Assert.Equal(new MigrationOptions().MaxBandwidthBytesPerSecond, (long)parameters["max-bandwidth"]!);
            Assert.DoesNotContain("postcopy", outcome.PhasesNs.Keys);
        }
    }
}
