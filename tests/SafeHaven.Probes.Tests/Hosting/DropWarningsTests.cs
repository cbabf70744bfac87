using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SafeHaven.Probes.Hosting.Delivery;

namespace SafeHaven.Probes.Tests.Hosting;

public sealed partial class DropWarningsTests
{
    private static readonly TimeSpan Interval = DropWarnings.DefaultInterval;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-04T12:00:00Z", CultureInfo.InvariantCulture));
    private readonly ListLogger _log = new();

    private DropWarnings Limiter() => new(_log, _time, "probe-h1", Interval);

    [GeneratedRegex("dropped ([0-9]+) samples")]
    private static partial Regex Count();

    private long[] Counts() => [.. _log.Entries.Select(e => long.Parse(Count().Match(e.Message).Groups[1].Value, CultureInfo.InvariantCulture))];

    [Fact]
    public void The_first_drop_warns_at_once_and_later_ones_wait_for_the_interval()
    {
        using var w = Limiter();
        w.Add(1, ProbeMetrics.BufferFull);
        var first = Assert.Single(_log.Entries);
        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.Contains("probe-h1: dropped 1 samples since the last warning (buffer_full 1)", first.Message, StringComparison.Ordinal);

        for (int i = 0; i < 99; i++)
        {
            w.Add(1, ProbeMetrics.BufferFull);
        }
        w.Add(2, ProbeMetrics.DeliveryFailed);
        _time.Advance(Interval - TimeSpan.FromMilliseconds(1));
        Assert.Single(_log.Entries);

        // The held drops are reported when the interval ends, without waiting for another drop.
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, _log.Entries.Count);
        Assert.Contains("dropped 101 samples since the last warning (buffer_full 99, delivery_failed 2)", _log.Entries[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_steady_loss_is_one_warning_per_interval_and_every_drop_is_named_once()
    {
        using var w = Limiter();
        // One drop every 100 ms for a minute: 600 drops.
        for (int i = 0; i < 600; i++)
        {
            w.Add(1, ProbeMetrics.BufferFull);
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        long[] counts = Counts();
        Assert.InRange(counts.Length, 6, 7);
        Assert.Equal(600, counts.Sum());
    }

    [Fact]
    public void No_drops_no_warning_and_a_quiet_spell_warns_at_once_again()
    {
        using var w = Limiter();
        _time.Advance(Interval * 3);
        Assert.Empty(_log.Entries);

        w.Add(3, ProbeMetrics.BufferFull);
        _time.Advance(Interval * 5);
        w.Add(4, ProbeMetrics.BufferFull);
        Assert.Equal([3L, 4L], Counts());
        w.Add(0, ProbeMetrics.BufferFull);
        _time.Advance(Interval * 2);
        Assert.Equal([3L, 4L], Counts());
    }

    [Fact]
    public void Closing_reports_what_the_limit_still_held()
    {
        var w = Limiter();
        w.Add(1, ProbeMetrics.BufferFull);
        w.Add(5, ProbeMetrics.Shutdown);

        w.Dispose();

        Assert.Equal([1L, 5L], Counts());
        Assert.Contains("(shutdown 5)", _log.Entries[1].Message, StringComparison.Ordinal);
    }
}
