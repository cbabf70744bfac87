using SafeHaven.Actuators.Agent;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Tests.Agent;

public sealed class CommandJournalTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-journal-");

    private string PathOf(string name) => Path.Combine(_dir.FullName, "a1", name);

    private static IsolationCommand Core(string id, int pid = 42, string cpus = "3") => new()
    {
        commandId = id, entity = new EntityRef { datacenter = "dc", host = "h", pid = pid, startTime = 777 },
        level = Levels.Core, action = Actions.Isolate, source = "a1", target = cpus, reasons = [], signature = [],
    };

    [Fact]
    public void Started_ids_survive_reopening_in_order_and_the_file_is_private()
    {
        var path = PathOf("executed-commands");
        using (var j = CommandJournal.Open(path))
        {
            Assert.Empty(j.Executed);
            j.Started(Core("c-1"));
            j.Started(Core("c-2"));
        }
        using var again = CommandJournal.Open(path);
        Assert.Equal(["c-1", "c-2"], again.Executed);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void A_started_command_without_a_published_result_is_unfinished_with_everything_reconciliation_needs()
    {
        var path = PathOf("unfinished");
        using (var j = CommandJournal.Open(path))
        {
            j.Started(Core("c-1", pid: 10, cpus: "2-3"));
            j.Started(Core("c-2", pid: 11));
            j.Finished("c-1", ResultStatus.Succeeded);
        }
        using var again = CommandJournal.Open(path);
        Assert.Equal(["c-1", "c-2"], again.Executed);
        var open = Assert.Single(again.Unfinished);
        Assert.Equal(new JournalEntry("c-2", Levels.Core, Actions.Isolate, 11, 777, "a1", "3", null, null), open);
        again.Finished("c-2", ResultStatus.Failed);
        Assert.Empty(again.Unfinished);
    }

    [Fact]
    public void A_torn_last_line_is_dropped_so_a_partial_id_never_counts_as_executed()
    {
        var path = PathOf("torn");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // The first format (bare ids) still loads, as finished commands.
        File.WriteAllText(path, "c-1\nc-2\nstart\tc-3-half");
        using (var j = CommandJournal.Open(path))
        {
            Assert.Equal(["c-1", "c-2"], j.Executed);
            Assert.Empty(j.Unfinished);
            j.Started(Core("c-4"));
        }
        using var again = CommandJournal.Open(path);
        Assert.Equal(["c-1", "c-2", "c-4"], again.Executed);
        Assert.StartsWith("c-1\nc-2\nstart\tc-4\t", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public void Fields_that_are_not_plain_tokens_are_refused_and_forged_lines_are_skipped()
    {
        var path = PathOf("bad");
        using (var j = CommandJournal.Open(path))
        {
            Assert.Throws<ArgumentException>(() => j.Started(Core("c-1\nc-forged")));
            var vm = Core("c-2");
            vm.entity.vm = "../../etc\tx";
            Assert.Throws<ArgumentException>(() => j.Started(vm));
            Assert.Throws<ArgumentException>(() => j.Finished("c-2\tdone", ResultStatus.Failed));
        }
        File.AppendAllText(path, "../../etc\nc-ok\nstart\tc-x\tcore\tisolate\t1\t-\ta1\t../x\t-\t-\n");
        using var again = CommandJournal.Open(path);
        Assert.Equal(["c-ok"], again.Executed);
        Assert.Empty(again.Unfinished);
    }

    [Fact]
    public void Each_line_is_in_the_kernel_before_the_call_returns_so_a_killed_agent_loses_none_of_them()
    {
        // Read while the writer is still open (as after kill -9, nothing is flushed at exit): what a reader finds is what reached the kernel.
        var path = PathOf("no-dispose");
        var writer = CommandJournal.Open(path);
        writer.Started(Core("c-core"));
        var vm = Core("c-vm");
        vm.level = Levels.Vm;
        vm.entity = new EntityRef { datacenter = "dc", host = "h", vm = "guest-1" };
        vm.target = "hv2";
        writer.Started(vm);
        writer.Finished("c-core", ResultStatus.Succeeded);

        var text = File.ReadAllText(path);

        Assert.Equal(["start\tc-core", "start\tc-vm", "done\tc-core\tsucceeded"], text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => string.Join('\t', l.Split('\t').Take(l.StartsWith("done", StringComparison.Ordinal) ? 3 : 2))));
        writer.Dispose();
    }

    [Fact]
    public void Only_moves_that_outlive_the_host_are_synced_to_the_disk()
    {
        Assert.Equal([Levels.Container, Levels.Vm], Levels.All.Where(CommandJournal.Durable));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
