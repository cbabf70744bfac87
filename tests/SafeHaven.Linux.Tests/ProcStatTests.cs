using SafeHaven.Linux;

namespace SafeHaven.Linux.Tests;

public sealed class ProcStatTests
{
    // A real line's shape: pid (comm) state, then fields 4..52.
    private static string Line(string comm, string state = "S", uint flags = 4194560, long start = 987654, string pgrp = "4240") =>
        $"4242 ({comm}) {state} 1 {pgrp} 4242 0 -1 {flags} 111 5 22 0 333 44 0 0 20 0 3 0 {start} 12345678 456 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";

    [Theory]
    [InlineData("python3")]
    [InlineData("evil) (name")]
    [InlineData("a b) S 1 2 3")]
    [InlineData(")")]
    [InlineData("")]
    [InlineData("tmux: server (1) 5 6")]
    public void Parses_fields_after_the_last_parenthesis(string comm)
    {
        Assert.True(ProcStat.TryParse(Line(comm), out var s));
        Assert.Equal(new ProcStat(4242, comm, 'S', 4194560, 111, 22, 333, 44, 987654, 4240) { Threads = 3 }, s);
        Assert.False(s.IsKernelThread);
        Assert.False(s.HasExited);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("+7")]
    [InlineData("4x")]
    [InlineData("99999999999")]
    public void Rejects_a_process_group_that_is_no_plain_number(string pgrp) =>
        Assert.False(ProcStat.TryParse(Line("sh (x) 1", pgrp: pgrp), out _));

    [Fact]
    public void Kernel_thread_and_zombie_flags()
    {
        Assert.True(ProcStat.TryParse(Line("kworker/0:1", flags: 0x04208040), out var k));
        Assert.True(k.IsKernelThread);
        Assert.True(ProcStat.TryParse(Line("defunct", state: "Z"), out var z));
        Assert.True(z.HasExited);
    }

    [Theory]
    [InlineData("")]
    [InlineData("4242 (x S 1 2")]
    [InlineData("4242 (x) S 1 2 3")]
    [InlineData("abc (x) S 1 4242 4242 0 -1 0 1 0 2 0 3 4 0 0 20 0 3 0 5")]
    [InlineData("4242 (x) S 1 4242 4242 0 -1 0 1 0 2 0 3 4 0 0 20 0 3 0 -5")]
    public void Rejects_malformed_lines(string text) => Assert.False(ProcStat.TryParse(text, out _));

    [Theory]
    [InlineData("python3")]
    [InlineData("evil) (name")]
    [InlineData("a b) S 1 2 3")]
    [InlineData("")]
    [InlineData("tmux: server (1) 5 6")]
    [InlineData("caf\u00e9 \u65e5\u672c")]
    public void The_byte_parser_reads_what_the_text_parser_reads(string comm)
    {
        foreach (string line in new[] { Line(comm), Line(comm, state: "Z", flags: 0x04208040, start: 5) + "\n", Line(comm, pgrp: "-1") })
        {
            bool text = ProcStat.TryParse(line, out var fromText);
            bool bytes = ProcStat.TryParse(System.Text.Encoding.UTF8.GetBytes(line), out var fromBytes);
            Assert.Equal(text, bytes);
            Assert.Equal(fromText, fromBytes);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("4242 (x S 1 2")]
    [InlineData("4242 (x) S 1 2 3")]
    [InlineData("abc (x) S 1 4242 4242 0 -1 0 1 0 2 0 3 4 0 0 20 0 3 0 5")]
    [InlineData("4242 (x) S 1 4242 4242 0 -1 0 1 0 2 0 3 4 0 0 20 0 3 0 -5")]
    [InlineData("4242 (x) SS 1 4242 4242 0 -1 0 1 0 2 0 3 4 0 0 20 0 3 0 5")]
    [InlineData("(x) S 1 4242 4242 0 -1 0 1 0 2 0 3 4 0 0 20 0 3 0 5")]
    public void The_byte_parser_rejects_malformed_lines(string text) =>
        Assert.False(ProcStat.TryParse(System.Text.Encoding.UTF8.GetBytes(text), out _));

    [Fact]
    public void Reads_own_process_stat()
    {
        var s = ProcFs.Default.ReadStat(Environment.ProcessId);
        Assert.NotNull(s);
        Assert.Equal(Environment.ProcessId, s.Value.Pid);
        Assert.True(s.Value.StartTime > 0);
        Assert.Equal(File.ReadAllText("/proc/self/comm").TrimEnd('\n'), s.Value.Comm);
    }

    [Fact]
    public void Status_fields()
    {
        const string status = "Name:\tx\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n";
        Assert.Equal(150, ProcFs.StatusField(status, "voluntary_ctxt_switches"));
        Assert.Equal(7, ProcFs.StatusField(status, "nonvoluntary_ctxt_switches"));
        Assert.Null(ProcFs.StatusField(status, "ctxt_switches"));
    }
}
