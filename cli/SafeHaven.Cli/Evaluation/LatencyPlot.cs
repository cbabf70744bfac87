using System.Globalization;
using ScottPlot;

namespace SafeHaven.Cli.Evaluation;

/// <summary>
/// The PNG of a detection-latency distribution: a histogram of the true positives' latencies with their mean and the
/// original system's mean (720 ms at a 1 s period) as vertical lines. Rendered by ScottPlot on Skia, headless; text
/// needs a font file under /usr/share/fonts (Debian: fonts-dejavu-core).
/// </summary>
internal static class LatencyPlot
{
    /// <summary>The original system's mean detection latency, ms (Falzon &amp; Bodden 2015, 1 s period).</summary>
    public const double ReferenceMeanMs = 720;

    /// <summary>Whether Skia found any font to draw text with (without one the plot has bars but no words).</summary>
    public static bool HasFonts => SkiaSharp.SKFontManager.Default.FontFamilyCount > 0;

    /// <summary>Writes the plot of <paramref name="latenciesMs"/> to <paramref name="path"/> as a PNG.</summary>
    public static void Save(string path, IReadOnlyList<double> latenciesMs, string title, int width = 900, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(latenciesMs);
        using var plot = new Plot();
        plot.Title(title);
        plot.XLabel("detection latency (ms): detection window end − channel onset");
        plot.YLabel("channel processes");
        var c = CultureInfo.InvariantCulture;
        if (latenciesMs.Count == 0)
        {
            plot.Add.Annotation("no true positive: no latency to plot");
            plot.Axes.SetLimits(0, ReferenceMeanMs * 1.5, 0, 1);
        }
        else
        {
            var max = Math.Max(latenciesMs.Max(), ReferenceMeanMs) * 1.05;
            // About √n bins, at least 5 so a handful of processes still shows a spread, at most 40.
            var bins = Math.Clamp((int)Math.Ceiling(Math.Sqrt(latenciesMs.Count)), 5, 40);
            var histogram = ScottPlot.Statistics.Histogram.WithBinCount(bins, 0, max);
            histogram.AddRange(latenciesMs);
            plot.Add.Histogram(histogram);
            var mean = latenciesMs.Average();
            var meanLine = plot.Add.VerticalLine(mean);
            meanLine.LegendText = string.Create(c, $"mean {mean:N0} ms (n={latenciesMs.Count})");
            meanLine.Color = Colors.DarkBlue;
            plot.Axes.Margins(bottom: 0);
        }
        var reference = plot.Add.VerticalLine(ReferenceMeanMs);
        reference.LegendText = "Falzon & Bodden 2015 mean 720 ms (1 s period)";
        reference.Color = Colors.DarkRed;
        reference.LinePattern = LinePattern.Dashed;
        // A legend, not line labels: those sit on an axis and cover its title.
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, width, height);
    }
}
