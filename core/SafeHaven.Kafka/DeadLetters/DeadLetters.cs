using System.Text;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Kafka.DeadLetters;

/// <summary>
/// Builds <see cref="DeadLetter"/> records: the original bytes kept with the reason, cut to a bounded size so that
/// dead-lettering a record can never itself be refused by the broker (a ~1 MB record copied whole made the dead
/// letter exceed <c>message.max.bytes</c>, and the error path then stopped the role).
/// </summary>
public static class DeadLetters
{
    /// <summary>At most this many bytes of the original value are kept.</summary>
    public const int MaxValueBytes = 64 * 1024;

    /// <summary>At most this many bytes of the original key are kept (in the record and as the dead letter's key).</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>At most this many characters of the reason are kept.</summary>
    public const int MaxReasonChars = 2048;

    /// <summary>A dead letter for a record read from <paramref name="topic"/>; key, value and reason are truncated to their bounds.</summary>
    public static DeadLetter Create(string topic, int partition, long offset, byte[]? key, byte[]? value,
        string reason, string consumer, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(reason);
        // The reason says what was cut, so an operator knows the stored bytes are a prefix.
        var cut = new List<string>(2);
        if (value is { Length: > MaxValueBytes })
        {
            cut.Add($"value truncated from {value.Length} to {MaxValueBytes} bytes");
        }
        if (key is { Length: > MaxKeyBytes })
        {
            cut.Add($"key truncated from {key.Length} to {MaxKeyBytes} bytes");
        }
        var why = Truncate(reason, MaxReasonChars);
        return new DeadLetter
        {
            topic = Truncate(topic, 256),
            partition = partition,
            offset = offset,
            key = Prefix(key, MaxKeyBytes),
            value = Prefix(value, MaxValueBytes),
            reason = cut.Count == 0 ? why : $"{why} ({string.Join("; ", cut)})",
            consumer = Truncate(consumer, 256),
            failedAtNs = time.NowNs(),
        };
    }

    /// <summary>The Kafka key of a dead letter: the original key, cut to <see cref="MaxKeyBytes"/> UTF-8 bytes at most.</summary>
    public static string Key(string? key)
    {
        if (key is null)
        {
            return "";
        }
        if (Encoding.UTF8.GetByteCount(key) <= MaxKeyBytes)
        {
            return key;
        }
        // A character is at most 3 UTF-8 bytes in a .NET string (surrogate pairs are 4 for 2 chars).
        return key[..(MaxKeyBytes / 3)];
    }

    private static byte[]? Prefix(byte[]? bytes, int max) => bytes is null || bytes.Length <= max ? bytes : bytes[..max];

    private static string Truncate(string? s, int max) => s is null ? "" : s.Length <= max ? s : s[..max] + "…";
}
