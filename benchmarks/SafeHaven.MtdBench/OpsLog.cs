using System.Diagnostics;
using System.Globalization;

namespace SafeHaven.MtdBench;

/// <summary>
/// The workload's progress lines ("ops N rate R …"), each stamped with the host's clock when it was read:
/// the guest's own clock does not see the pauses a migration causes.
/// </summary>
internal sealed class OpsLog
{
    private readonly Lock _gate = new();
    private readonly List<(long Ops, long At)> _series = [];
    private (long Ops, long At)? _last;

    /// <summary>The latest (cumulative ops, host timestamp), or null before the first line.</summary>
    public (long Ops, long At)? Last
    {
        get
        {
            lock (_gate)
            {
                return _last;
            }
        }
    }

    /// <summary>Takes one output line; ignores anything that is not a progress line.</summary>
    public void Line(string? line)
    {
        if (line is null || !line.StartsWith("ops ", StringComparison.Ordinal))
        {
            return;
        }
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ops))
        {
            lock (_gate)
            {
                // A migrated guest continues its counter; a line read twice (file re-read) never goes back.
                if (_last is not { } l || ops > l.Ops)
                {
                    _last = (ops, Stopwatch.GetTimestamp());
                    _series.Add(_last.Value);
                }
            }
        }
    }

    /// <summary>Cumulative ops at host timestamp <paramref name="at"/>, interpolated between the lines around it; null outside them.</summary>
    public double? OpsAt(long at)
    {
        lock (_gate)
        {
            for (var i = 1; i < _series.Count; i++)
            {
                var (a, b) = (_series[i - 1], _series[i]);
                if (a.At <= at && at <= b.At)
                {
                    return a.Ops + ((b.Ops - a.Ops) * (double)(at - a.At) / Math.Max(1, b.At - a.At));
                }
            }
            return null;
        }
    }

    /// <summary>
    /// Ops lost around a move started at <paramref name="at"/>: what the rate of the <paramref name="span"/> before it
    /// would have done over the span after it, minus what was done. Insensitive to load drift slower than the span;
    /// noisy, but unbiased, against faster load changes. Null when the lines do not cover both spans.
    /// </summary>
    public double? LostAround(long at, TimeSpan span)
    {
        var ticks = (long)(span.TotalSeconds * Stopwatch.Frequency);
        if (OpsAt(at - ticks) is not { } before || OpsAt(at) is not { } start || OpsAt(at + ticks) is not { } after)
        {
            return null;
        }
        return (start - before) - (after - start);
    }

    /// <summary>Ops/s between two readings.</summary>
    public static double Rate((long Ops, long At) from, (long Ops, long At) to) =>
        (to.Ops - from.Ops) / Stopwatch.GetElapsedTime(from.At, to.At).TotalSeconds;
}

/// <summary>Follows a growing file (a serial console) from an offset; the path can change after a migration.</summary>
internal sealed class FileFollower(OpsLog log)
{
    private string? _path;
    private long _offset;
    private string _partial = "";

    /// <summary>Starts reading <paramref name="path"/> from its beginning (a path already followed is kept where it was).</summary>
    public void Follow(string path)
    {
        if (path == _path)
        {
            return;
        }
        _path = path;
        _offset = 0;
        _partial = "";
    }

    /// <summary>Reads what was appended since the last call.</summary>
    public void Poll()
    {
        if (_path is null || !File.Exists(_path))
        {
            return;
        }
        using var f = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        if (f.Length <= _offset)
        {
            return;
        }
        f.Seek(_offset, SeekOrigin.Begin);
        var bytes = new byte[f.Length - _offset];
        f.ReadExactly(bytes);
        _offset += bytes.Length;
        var text = _partial + System.Text.Encoding.ASCII.GetString(bytes);
        var lines = text.Split('\n');
        _partial = lines[^1];
        foreach (var l in lines[..^1])
        {
            log.Line(l.TrimEnd('\r'));
        }
    }
}
