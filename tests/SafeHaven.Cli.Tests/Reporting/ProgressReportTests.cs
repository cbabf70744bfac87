using SafeHaven.Cli.Runtime;

namespace SafeHaven.Cli.Tests.Reporting;

/// <summary>Progress of long operations: plain lines for logs (stable format, paced), a bar for terminals, never stdout.</summary>
public sealed class ProgressReportTests
{
    [Fact]
    public void Plain_mode_writes_prefixed_lines_each_report_when_unpaced()
    {
        using var error = new StringWriter();
        using (var progress = ProgressReport.Start("record", null, TimeSpan.Zero, "record", error, terminal: false))
        {
            Assert.False(progress.IsBar);
            progress.Report(1, "10 records");
            progress.Report(2, "20 records");
        }
        Assert.Equal(["record: 10 records", "record: 20 records"], Lines(error));
    }

    [Fact]
    public void Plain_mode_paces_lines_and_prints_the_last_report_at_the_end()
    {
        using var error = new StringWriter();
        using (var progress = ProgressReport.Start("simulate", 60, TimeSpan.FromHours(1), null, error, terminal: false))
        {
            progress.Report(1, "first");
            progress.Report(2, "second");
            progress.Report(3, "third");
        }
        // The first report at once, the rest held back by the pace; the last one when the operation ends.
        Assert.Equal(["first", "third"], Lines(error));
    }

    [Fact]
    public void Bar_mode_stops_its_drawing_thread_on_dispose()
    {
        using var error = new StringWriter();
        var progress = ProgressReport.Start("replay", 10, TimeSpan.Zero, "replay", error, terminal: true);
        Assert.True(progress.IsBar);
        progress.Report(5, "5 of 10 records sent");
        progress.Report(12, "more than the total is clamped");
        progress.Dispose();
        progress.Dispose();
    }

    private static string[] Lines(StringWriter writer) =>
        writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
