using System.Text.Json;
using SafeHaven.Cli.Evaluation;
using SkiaSharp;
using static SafeHaven.Cli.Tests.Evaluation.SyntheticTrace;

namespace SafeHaven.Cli.Tests.Evaluation;

/// <summary><c>safehaven evaluate</c> end to end over traces written with the real trace writer.</summary>
public sealed class EvaluateCommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Scores_a_trace_and_writes_json_markdown_and_a_png()
    {
        using var t = new SyntheticTrace();
        var trace = t.WriteChannelTrace();
        var outDir = t.File("out");

        var run = await CliRunner.RunAsync(Timeout, "evaluate", trace, "--rules", t.Rules(), "--labels", t.Labels(), "--json", "--out", outDir);

        Assert.True(run.ExitCode == 0, run.Stderr);
        var json = JsonDocument.Parse(run.Stdout).RootElement;
        Assert.Equal(1.0, json.GetProperty("precision").GetDouble());
        Assert.Equal(1.0, json.GetProperty("recall").GetDouble());
        Assert.Equal((1, 0, 0), (json.GetProperty("truePositives").GetInt32(), json.GetProperty("falsePositives").GetInt32(), json.GetProperty("falseNegatives").GetInt32()));
        var latency = json.GetProperty("detectionLatencyMs");
        Assert.Equal((1000.0, 1000.0, 1000.0, 1000.0), (latency.GetProperty("min").GetDouble(), latency.GetProperty("max").GetDouble(),
            latency.GetProperty("geomean").GetDouble(), latency.GetProperty("mean").GetDouble()));
        Assert.Equal(5.0, json.GetProperty("isolationMs").GetProperty("mean").GetDouble());
        Assert.Equal(1015.0, json.GetProperty("totalMs").GetProperty("mean").GetDouble());
        // The live detector's recorded detection is reproduced offline, same id.
        Assert.Equal((1, 1), (json.GetProperty("recordedDetections").GetInt32(), json.GetProperty("recordedDetectionsReproduced").GetInt32()));
        Assert.Contains("| 1 | 1 | 1 | 0 | 0 | 1 |", File.ReadAllText(Path.Combine(outDir, "report.md")), StringComparison.Ordinal);
        using var png = SKBitmap.Decode(Path.Combine(outDir, "latency.png"));
        Assert.Equal((900, 500), (png.Width, png.Height));
        Assert.Contains("samples/s", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void The_plot_draws_text_headless()
    {
        // Text needs a font file (CI installs fonts-dejavu-core): without one Skia draws no glyphs, silently.
        using var t = new SyntheticTrace();
        LatencyPlot.Save(t.File("a.png"), [900, 1000, 1100], "Detection latency");
        LatencyPlot.Save(t.File("b.png"), [900, 1000, 1100], "");

        Assert.True(LatencyPlot.HasFonts, "no font under /usr/share/fonts: install fonts-dejavu-core");
        using var a = SKBitmap.Decode(t.File("a.png"));
        using var b = SKBitmap.Decode(t.File("b.png"));
        Assert.NotEqual(a.Pixels, b.Pixels);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("text")]
    public async Task A_damaged_trace_exits_2_naming_the_file(string damage)
    {
        using var t = new SyntheticTrace();
        var trace = t.WriteChannelTrace();
        var bytes = File.ReadAllBytes(trace);
        bytes = damage switch
        {
            "truncated" => bytes[..(bytes.Length - 40)],
            "flipped" => [.. bytes[..^30], .. bytes[^30..].Select(b => (byte)(b ^ 0x5A))],
            _ => "host,pid\n"u8.ToArray(),
        };
        File.WriteAllBytes(trace, bytes);

        var run = await CliRunner.RunAsync(Timeout, "evaluate", trace, "--rules", t.Rules(), "--out", t.File("out"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("not a valid trace", run.Stderr, StringComparison.Ordinal);
        Assert.Contains(trace, run.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(t.File("out")), "no report for a bad trace");
    }

    [Theory]
    [InlineData("h1,10,covert,5\n", ":1:", "must be 'channel' or 'benign'")]
    [InlineData("host,pid,label,onsetNs\nh1,10,channel,\n", ":2:", "needs onsetNs")]
    public async Task Bad_labels_exit_2_naming_file_and_line(string labels, string line, string problem)
    {
        using var t = new SyntheticTrace();
        var path = t.WriteText("bad.csv", labels);

        var run = await CliRunner.RunAsync(Timeout, "evaluate", t.WriteChannelTrace(), "--rules", t.Rules(), "--labels", path);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(path + line, run.Stderr, StringComparison.Ordinal);
        Assert.Contains(problem, run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_trace_or_rules_exit_2()
    {
        using var t = new SyntheticTrace();

        var noFile = await CliRunner.RunAsync(Timeout, "evaluate", t.File("none.trace"), "--rules", t.Rules());
        var noRules = await CliRunner.RunAsync(Timeout, "evaluate", t.WriteChannelTrace());

        Assert.Equal((2, 2), (noFile.ExitCode, noRules.ExitCode));
        Assert.Contains("no such file", noFile.Stderr, StringComparison.Ordinal);
        Assert.Contains("--rules", noRules.Stderr, StringComparison.Ordinal);
    }
}
