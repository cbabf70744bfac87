using System.Globalization;
using System.Text;

namespace SafeHaven.Actuators.Agent;

/// <summary>Reads the test guest's <c>heartbeat N</c> lines from a serial output file.</summary>
public static class SerialHeartbeat
{
    private const string Prefix = "heartbeat ";
    // Only the tail matters and serial files grow forever; 64 KiB holds hundreds of beats.
    private const int TailBytes = 64 * 1024;

    /// <summary>The highest complete heartbeat number in the file's tail, or null when none (yet).</summary>
    public static long? Last(string serialPath)
    {
        if (!File.Exists(serialPath))
        {
            return null;
        }
        using var stream = new FileStream(serialPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var start = Math.Max(0, stream.Length - TailBytes);
        stream.Position = start;
        var buffer = new byte[stream.Length - start];
        stream.ReadExactly(buffer);
        var text = Encoding.ASCII.GetString(buffer);
        // A line is complete once its newline arrived; the guest may be mid-write on the last one.
        long? last = null;
        foreach (var line in text.Split('\n')[..^1])
        {
            var trimmed = line.TrimEnd('\r');
            if (trimmed.StartsWith(Prefix, StringComparison.Ordinal)
                && long.TryParse(trimmed.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                last = last is { } l ? Math.Max(l, n) : n;
            }
        }
        return last;
    }

    /// <summary>
    /// Waits until the file shows a heartbeat above <paramref name="after"/> (any heartbeat when null), polling
    /// every 20 ms; returns it, or null when <paramref name="ct"/> ends the wait first.
    /// </summary>
    public static async Task<long?> WaitBeyondAsync(string serialPath, long? after, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                if (Last(serialPath) is { } n && (after is null || n > after))
                {
                    return n;
                }
                await Task.Delay(20, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Checks that a migrated guest lives on in <paramref name="serial"/>, its destination's serial file: a first beat
    /// not behind <paramref name="sourceLast"/> (a lower one means the guest started over), then a later beat.
    /// </summary>
    /// <param name="serial">The destination's serial file.</param>
    /// <param name="sourceLast">The last beat the source showed; null when unknown (only the two beats are awaited).</param>
    /// <param name="timeout">Bounds both waits together.</param>
    /// <param name="ct">Ends the waits early, as a timeout does.</param>
    /// <returns>Null and the two beats when the guest beats on; else why not, for the destination, and null.</returns>
    public static async Task<(string? Error, (long First, long Last)? Beats)> VerifyContinuesAsync(string serial, long? sourceLast,
        TimeSpan timeout, CancellationToken ct)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        var first = await WaitBeyondAsync(serial, null, bound.Token).ConfigureAwait(false);
        if (first is null)
        {
            return ($"no heartbeat on the destination's serial within {timeout.TotalSeconds:0} s", null);
        }
        if (sourceLast is { } last && first < last)
        {
            return ($"destination heartbeat {first} is behind the source's {last}: the guest restarted", null);
        }
        var next = await WaitBeyondAsync(serial, first, bound.Token).ConfigureAwait(false);
        return next is null ? ($"heartbeat stuck at {first} on the destination", null) : (null, (first.Value, next.Value));
    }
}
