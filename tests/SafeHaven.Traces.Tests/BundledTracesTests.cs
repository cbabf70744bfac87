using System.Globalization;

namespace SafeHaven.Traces.Tests;

/// <summary>The traces of tests/traces (docs/TRACES.md): readable, small, and every labelled process sampled throughout.</summary>
public sealed class BundledTracesTests
{
    private static string Folder => Path.Combine(PythonAvro.RepoRoot(), "tests", "traces");

    private static List<string> Names() =>
        Directory.GetFiles(Folder, "*.trace").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToList();

    public static TheoryData<string> Traces() => new(Names());

    [Fact]
    public void The_set_has_benign_and_channel_workloads()
    {
        var names = Names();
        Assert.Contains("channel-switch", names);
        Assert.Contains("channel-lockbus", names);
        Assert.Contains("channel-cache", names);
        Assert.Contains("channel-noisy", names);
        Assert.True(names.Count(n => n.StartsWith("benign-", StringComparison.Ordinal)) >= 3);
    }

    [Theory]
    [MemberData(nameof(Traces))]
    public void Every_labelled_process_is_sampled_for_most_of_the_trace(string name)
    {
        var path = Path.Combine(Folder, name + ".trace");
        Assert.True(new FileInfo(path).Length < 1024 * 1024, $"{name}.trace is {new FileInfo(path).Length} bytes");
        var entries = TraceReader.ReadAll(path);
        var labels = File.ReadAllLines(Path.Combine(Folder, name + ".labels.csv"));
        Assert.Equal("host,pid,label,onsetNs", labels[0]);
        var samples = entries.Where(e => e.Kind == TraceKind.Samples).Select(e => e.Sample!).ToList();
        var first = samples.Min(s => s.timestampNs);
        var span = TimeSpan.FromTicks((samples.Max(s => s.timestampNs) - first) / 100);
        Assert.InRange(span.TotalSeconds, 20, 60);
        foreach (var line in labels.Skip(1))
        {
            var f = line.Split(',');
            Assert.Equal(4, f.Length);
            Assert.Contains(f[2], new[] { "channel", "benign" });
            var pid = int.Parse(f[1], CultureInfo.InvariantCulture);
            var own = samples.Where(s => s.host == f[0] && s.entity.pid == pid).ToList();
            // A 1 s period over 20-60 s: every labelled process (the channel's too) is seen in most windows.
            Assert.True(own.Count >= span.TotalSeconds * 0.7, $"{name}: pid {pid} ({f[2]}) has {own.Count} samples over {span.TotalSeconds:F0} s");
            var onset = long.Parse(f[3], CultureInfo.InvariantCulture);
            Assert.InRange(onset, first - 60_000_000_000L, first + 60_000_000_000L);
        }
        Assert.Contains(labels.Skip(1), l => l.Contains(name.StartsWith("channel-", StringComparison.Ordinal) ? ",channel," : ",benign,", StringComparison.Ordinal));
    }
}
