using System.Globalization;
using System.Text;

namespace SafeHaven.Actuators.Vm;

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
}
