using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Linux.Tests;

/// <summary>The actuators' process checks, on a /proc copy the test writes (the probe's readers have their own tests).</summary>
public sealed class ProcFsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sh-linux-proc-").FullName;

    private ProcFs Proc => new(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Add(int pid, string state = "S", long start = 987654, int[]? tids = null, string cpus = "0-1", string children = "")
    {
        var dir = Path.Join(_root, pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "stat"),
            $"{pid} (we (ird) {state} 1 {pid} {pid} 0 -1 4194560 111 5 22 0 333 44 0 0 20 0 3 0 {start} 12345678 456 1 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0");
        foreach (var tid in tids ?? [pid])
        {
            var task = Path.Join(dir, "task", tid.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(task);
            File.WriteAllText(Path.Join(task, "status"), $"Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t{cpus}\nMems_allowed_list:\t0\n");
            File.WriteAllText(Path.Join(task, "children"), tid == pid ? children : "");
        }
    }

    [Fact]
    public void Start_time_and_state_come_from_the_fields_after_the_last_parenthesis()
    {
        Add(4242, state: "T", start: 555);
        Assert.True(Proc.Exists(4242));
        Assert.Equal(555, Proc.StartTime(4242));
        Assert.Equal('T', Proc.State(4242));
        Assert.True(Proc.IsLive(4242));
    }

    [Theory]
    [InlineData("Z")]
    [InlineData("X")]
    public void A_zombie_exists_but_is_not_live(string state)
    {
        Add(7, state: state);
        Assert.True(Proc.Exists(7));
        Assert.False(Proc.IsLive(7));
    }

    [Fact]
    public void A_missing_process_is_gone_for_every_check()
    {
        Assert.False(Proc.Exists(99));
        Assert.False(Proc.IsLive(99));
        Assert.Null(Proc.State(99));
        Assert.Empty(Proc.Children(99));
        Assert.Throws<ProcessGoneException>(() => Proc.StartTime(99));
        Assert.Equal(99, Assert.Throws<ProcessGoneException>(() => Proc.ThreadIds(99)).Pid);
        Assert.Null(Proc.ThreadCpusAllowed(99, 99));
    }

    [Fact]
    public void A_truncated_stat_is_a_format_error_not_a_gone_process()
    {
        Add(12);
        File.WriteAllText(Path.Join(_root, "12", "stat"), "12 (x) S 1 2 3");
        Assert.Throws<FormatException>(() => Proc.StartTime(12));
        Assert.Null(Proc.State(12));
    }

    [Fact]
    public void Threads_their_cpus_and_children()
    {
        Add(30, tids: [30, 31, 35], cpus: "1", children: "40 41 ");
        Assert.Equal([30, 31, 35], Proc.ThreadIds(30).Order());
        Assert.Equal(CpuList.Parse("1"), Proc.ThreadCpusAllowed(30, 31));
        Assert.Equal([40, 41], Proc.Children(30));
    }

    [Fact]
    public void An_empty_task_directory_means_the_process_is_exiting()
    {
        Add(50, tids: []);
        Assert.Throws<ProcessGoneException>(() => Proc.ThreadIds(50));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Pids_from_commands_are_validated_before_they_become_paths(int pid)
    {
        Assert.ThrowsAny<ArgumentException>(() => Proc.Exists(pid));
        Assert.ThrowsAny<ArgumentException>(() => Proc.StartTime(pid));
        Assert.ThrowsAny<ArgumentException>(() => Proc.ThreadCpusAllowed(1, pid));
    }

    [Fact]
    public void The_probe_readers_read_a_copy_of_proc_and_return_null_for_a_missing_process()
    {
        Add(60, start: 777, tids: [60, 61]);
        File.WriteAllText(Path.Join(_root, "60", "task", "61", "stat"),
            "61 (worker) R 1 60 60 0 -1 4194560 1 0 2 0 3 4 0 0 20 0 3 0 778 0 0");
        File.WriteAllText(Path.Join(_root, "60", "cgroup"), "0::/system.slice/x.service\n");
        // Larger than the first pooled buffer: the reader grows it.
        string status = "Name:\tx\n" + string.Concat(Enumerable.Range(0, 800).Select(i => $"Pad{i}:\t{i}\n")) + "voluntary_ctxt_switches:\t42\n";
        Assert.True(status.Length > 8192);
        File.WriteAllText(Path.Join(_root, "60", "status"), status);

        Assert.Equal(777, Proc.ReadStat(60)?.StartTime);
        Assert.Equal("we (ird", Proc.ReadStat(60)?.Comm);
        Assert.Equal(('R', 778L), Proc.ReadTaskStat(60, 61) is { } t ? (t.State, t.StartTime) : default);
        Assert.Equal("0::/system.slice/x.service\n", Proc.ReadCgroup(60));
        Assert.Equal(status, Proc.ReadStatus(60));
        Assert.Equal(42, ProcFs.StatusField(Proc.ReadStatus(60)!, "voluntary_ctxt_switches"));
        Assert.Null(Proc.ReadStat(99));
        Assert.Null(Proc.ReadTaskStat(60, 62));
        Assert.Null(Proc.ReadCgroup(99));
        Assert.Null(Proc.ReadStatus(99));
        // A root with a trailing '/' reads the same files.
        Assert.Equal(777, new ProcFs(_root + "/").ReadStat(60)?.StartTime);
    }

    [Fact]
    public void A_root_longer_than_the_stack_path_buffer_still_reads()
    {
        // 600 bytes of directory names: the path no longer fits the reader's stack buffer.
        string deep = Path.Join(_root, string.Join('/', Enumerable.Repeat(new string('d', 99), 6)));
        var dir = Path.Join(deep, "70");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "stat"), "70 (deep) S 1 70 70 0 -1 4194560 1 0 2 0 3 4 0 0 20 0 1 0 4321 0 0\n");
        Assert.True(deep.Length > 512);
        Assert.Equal(4321, new ProcFs(deep).ReadStat(70)?.StartTime);
    }

    [Fact]
    public void Own_process_on_the_real_proc()
    {
        var self = Environment.ProcessId;
        Assert.True(ProcFs.Default.IsLive(self));
        Assert.Equal(ProcFs.Default.ReadStat(self)!.Value.StartTime, ProcFs.Default.StartTime(self));
        Assert.Contains(self, ProcFs.Default.ThreadIds(self));
        Assert.NotNull(ProcFs.Default.ThreadCpusAllowed(self, self));
    }
}
