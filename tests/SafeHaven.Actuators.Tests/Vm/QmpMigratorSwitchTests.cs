using System.Text.Json.Nodes;
using SafeHaven.Actuators.Vm;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>
/// When the migrator asks for post-copy, against scripted QEMU monitors. QEMU 7.2 reads the switch request only
/// between iterations: a request that arrives after the first pass began can let a loaded QEMU send the whole
/// guest in pre-copy (a CI run did), so the request must follow <c>migrate</c> at once.
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

    // A source that counts pre-copy passes per query and completes one query after the switch, and a destination
    // that resumes when the source switches.
    private (FakeQmp Source, FakeQmp Destination) Pair()
    {
        var destination = new FakeQmp(Path.Join(_dir, "dst.qmp"), (command, _, _) =>
            command == "query-status" ? new JsonObject { ["status"] = "running" } : null, _deadline.Token);
        var (switched, pass) = (false, 0);
        var source = new FakeQmp(Path.Join(_dir, "src.qmp"), (command, _, qmp) =>
        {
            switch (command)
            {
                case "migrate":
                    qmp.Emit("MIGRATION", new JsonObject { ["status"] = "setup" });
                    return null;
                case "migrate-start-postcopy":
                    switched = true;
                    qmp.Emit("MIGRATION", new JsonObject { ["status"] = "postcopy-active" });
                    qmp.Emit("STOP", emittedUs: StopUs);
                    destination.Emit("RESUME", emittedUs: ResumeUs);
                    return null;
                case "query-migrate":
                    if (switched)
                    {
                        qmp.Emit("MIGRATION", new JsonObject { ["status"] = "completed" });
                        return new JsonObject { ["status"] = "completed", ["ram"] = new JsonObject { ["transferred"] = 5_000_000 } };
                    }
                    qmp.Emit("MIGRATION_PASS", new JsonObject { ["pass"] = ++pass });
                    return new JsonObject { ["status"] = "active" };
                default:
                    return null;
            }
        }, _deadline.Token);
        return (source, destination);
    }

    private async Task<(MigrationOutcome Outcome, List<string> Commands, JsonObject Parameters)> MigrateAsync(MigrationOptions options)
    {
        var (sourceFake, destinationFake) = Pair();
        await using (sourceFake)
        await using (destinationFake)
        {
            await using var source = await QmpClient.ConnectAsync(sourceFake.SocketPath, null, _deadline.Token);
            await using var destination = await QmpClient.ConnectAsync(destinationFake.SocketPath, null, _deadline.Token);
            var outcome = await QmpMigrator.MigrateAsync(source, destination, "unix:" + Path.Join(_dir, "mig"), null, null, options, _deadline.Token);
            var commands = sourceFake.Commands;
            return (outcome, [.. commands.Select(c => c.Command)], commands.Single(c => c.Command == "migrate-set-parameters").Arguments!);
        }
    }

    [Fact]
    public async Task By_default_post_copy_is_requested_right_after_migrate_with_pre_copy_held_until_then()
    {
        // Given the default: post-copy after a short pre-copy
        var options = new MigrationOptions();

        // When the guest migrates
        var (outcome, commands, parameters) = await MigrateAsync(options);

        // Then the switch request is the very next command after migrate, before any progress query
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal("postcopy", outcome.Mode);
        var migrate = commands.IndexOf("migrate");
        Assert.Equal("migrate-start-postcopy", commands[migrate + 1]);
        // Pre-copy crawls (a late switch costs one rate-limit window, pre-copy cannot converge first); post-copy does not.
        Assert.Equal(MigrationOptions.SwitchHoldBandwidthBytesPerSecond, (long)parameters["max-bandwidth"]!);
        Assert.Equal(options.MaxBandwidthBytesPerSecond, (long)parameters["max-postcopy-bandwidth"]!);
        Assert.Equal(4_200_000, outcome.DowntimeNs);
        Assert.Equal(5_000_000, outcome.BytesTransferred);
        Assert.Contains("postcopy", outcome.PhasesNs.Keys);
    }

    [Fact]
    public async Task With_pre_copy_passes_the_switch_waits_for_them_at_full_bandwidth()
    {
        var options = new MigrationOptions { PrecopyPassesBeforePostcopy = 2 };

        var (outcome, commands, parameters) = await MigrateAsync(options);

        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.Equal("postcopy", outcome.Mode);
        // Passes are counted from MIGRATION_PASS (pass N starts after N−1 complete): the switch follows pass 3's report.
        var queriesBeforeSwitch = commands.TakeWhile(c => c != "migrate-start-postcopy").Count(c => c == "query-migrate");
        Assert.Equal(3, queriesBeforeSwitch);
        Assert.Equal(options.MaxBandwidthBytesPerSecond, (long)parameters["max-bandwidth"]!);
    }

    [Fact]
    public async Task Pure_pre_copy_never_asks_for_post_copy_nor_sets_its_bandwidth()
    {
        // A source that completes in pre-copy on the first query.
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
