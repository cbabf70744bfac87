using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>Reads a role's metrics port: its health endpoints, and the Prometheus text of <c>/metrics</c>.</summary>
internal sealed partial class Scrape(int port) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>A loopback port nothing listens on now (the kernel's choice, so tests never collide on a fixed one).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Status and body of <paramref name="path"/>; null while nothing answers on the port.</summary>
    public async Task<(int Status, string Body)?> GetAsync(string path)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// The value of the OpenTelemetry instrument <paramref name="instrument"/> in Prometheus text: counters summed over
    /// their series (<c>_total</c>), histograms their observation count (<c>_count</c>), gauges summed; 0 when absent.
    /// </summary>
    public static double Value(string text, string instrument) => Series(text, instrument).Sum(s => s.Value);

    /// <summary>Every series of <paramref name="instrument"/>: its labels and value.</summary>
    public static IEnumerable<(string Labels, double Value)> Series(string text, string instrument)
    {
        var family = instrument.Replace('.', '_');
        foreach (var line in text.Split('\n'))
        {
            if (SampleLine().Match(line) is not { Success: true } m)
            {
                continue;
            }
            var name = m.Groups["name"].Value;
            // The exporter appends the unit (ms: _milliseconds) and the type's suffix; a histogram counts by _count.
            if (name.StartsWith(family, StringComparison.Ordinal)
                && Regex.IsMatch(name[family.Length..], "^(_milliseconds)?(_total|_count)?$"))
            {
                yield return (m.Groups["labels"].Value, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));
            }
        }
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>[-+0-9.eE]+|NaN)( \d+)?$")]
    private static partial Regex SampleLine();
}
