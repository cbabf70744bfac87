using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Telemetry;
using SafeHaven.Kafka.Tracing;
using SafeHaven.Probes.Hosting.Delivery;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>docs/OPERATIONS.md's metrics table against the instruments the code creates: same names, types and units.</summary>
public sealed class MetricsDocTests
{
    [Fact]
    public void The_metrics_table_lists_every_instrument_with_its_type_and_unit()
    {
        // Given every instrument of the SafeHaven meters (their classes' static constructors create them)
        foreach (var type in new[] { typeof(SafeHavenMetrics), typeof(ProbeMetrics), typeof(DeadLetterMetrics), typeof(LogStartWatch), typeof(ConsumerWatch), typeof(TraceHeaders) })
        {
            RuntimeHelpers.RunClassConstructor(type.TypeHandle);
        }
        var code = new Dictionary<string, (string Type, string? Unit)>(StringComparer.Ordinal);
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name.StartsWith(SafeHavenMetrics.MeterPrefix, StringComparison.Ordinal))
                {
                    code[instrument.Name] = (Kind(instrument), instrument.Unit);
                }
            };
            listener.Start();
        }

        // When the table is read
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "OPERATIONS.md"));
        var section = doc[doc.IndexOf("## Metrics", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 1, StringComparison.Ordinal)];
        var table = Regex.Matches(section, @"^\| `(?<name>safehaven\.[a-z.]+)` \| (?<type>\w+) \| `(?<unit>[^`]*)` \|", RegexOptions.Multiline)
            .ToDictionary(m => m.Groups["name"].Value, m => (m.Groups["type"].Value, (string?)m.Groups["unit"].Value), StringComparer.Ordinal);

        // Then each side has exactly the other's instruments, typed and with units alike
        Assert.NotEmpty(code);
        Assert.Equal(code.Keys.Order(StringComparer.Ordinal), table.Keys.Order(StringComparer.Ordinal));
        Assert.All(code, c => Assert.Equal((c.Key, c.Value), (c.Key, table[c.Key])));
    }

    private static string Kind(Instrument instrument) => instrument.GetType().Name switch
    {
        var n when n.StartsWith("Counter", StringComparison.Ordinal) => "counter",
        var n when n.StartsWith("Histogram", StringComparison.Ordinal) => "histogram",
        var n when n.StartsWith("ObservableGauge", StringComparison.Ordinal) || n.StartsWith("Gauge", StringComparison.Ordinal) => "gauge",
        var n => n,
    };

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("no SafeHaven.sln above " + AppContext.BaseDirectory);
    }
}
