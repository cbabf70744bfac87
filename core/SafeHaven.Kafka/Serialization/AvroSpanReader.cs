using System.Runtime.CompilerServices;
using System.Text;

namespace SafeHaven.Kafka.Serialization;

/// <summary>
/// Avro binary primitives read straight from a span (specification 1.12, "Binary Encoding"): zig-zag varints,
/// length-prefixed strings as UTF-8 spans, array blocks, <c>["null", T]</c> union branches. Stricter than
/// Apache.Avro's <c>BinaryDecoder</c> only where that one reads garbage without a word: a varint longer than its
/// type, an int outside 32 bits, a length or item count larger than the bytes left. Every violation is an
/// <see cref="AvroDecodeException"/>; valid input reads exactly as Apache.Avro reads it.
/// </summary>
internal ref struct AvroSpanReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _pos;

    /// <summary>Bytes read so far.</summary>
    public readonly int Position => _pos;

    /// <summary>Bytes not read yet.</summary>
    public readonly int Remaining => _data.Length - _pos;

    /// <summary>The bytes from <paramref name="start"/> to the current position.</summary>
    public readonly ReadOnlySpan<byte> Since(int start) => _data[start.._pos];

    /// <summary>An Avro <c>long</c>: at most 10 bytes, the tenth carrying the last bit only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadLong()
    {
        var data = _data;
        var pos = _pos;
        if ((uint)pos < (uint)data.Length && data[pos] < 0x80)
        {
            // One byte: most counts of a quiet process, union branches, short lengths.
            _pos = pos + 1;
            ulong b = data[pos];
            return (long)(b >> 1) ^ -(long)(b & 1);
        }
        return ReadLongSlow();
    }

    // Locals, not fields, in the loop: the span and position of a ref struct reached through `this` were reloaded on every
    // byte (this path reads every interval, timestamp offset and count above 63 of a batch).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long ReadLongSlow()
    {
        var data = _data;
        var pos = _pos;
        ulong n = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if ((uint)pos >= (uint)data.Length)
            {
                _pos = pos;
                throw Truncated();
            }
            ulong b = data[pos++];
            if (shift == 63 && b > 1)
            {
                throw new AvroDecodeException($"varint at byte {pos - 1} overflows a long");
            }
            n |= (b & 0x7F) << shift;
            if (b < 0x80)
            {
                _pos = pos;
                return (long)(n >> 1) ^ -(long)(n & 1);
            }
        }
        throw new AvroDecodeException($"varint at byte {pos} is longer than 10 bytes");
    }

    /// <summary>An Avro <c>int</c>: a varint whose value fits 32 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadInt()
    {
        var start = _pos;
        var v = ReadLong();
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw IntOutOfRange(start, v);
    }

    private static AvroDecodeException IntOutOfRange(int start, long v) => new($"int at byte {start} is out of range: {v}");

    /// <summary>The branch of a <c>["null", T]</c> union: false for null, true for the value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadOptional()
    {
        var start = _pos;
        return ReadLong() switch
        {
            0 => false,
            1 => true,
            var other => throw new AvroDecodeException($"union branch {other} at byte {start} out of range"),
        };
    }

    /// <summary>The UTF-8 bytes of an Avro <c>string</c>, without copying them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<byte> ReadUtf8()
    {
        var start = _pos;
        var length = ReadLong();
        if (length < 0 || length > Remaining)
        {
            throw length < 0
                ? new AvroDecodeException($"string at byte {start} has a negative length {length}")
                : Truncated();
        }
        var s = _data.Slice(_pos, (int)length);
        _pos += (int)length;
        return s;
    }

    /// <summary>An Avro <c>string</c> as a new string (invalid UTF-8 becomes U+FFFD, as in Apache.Avro).</summary>
    public string ReadString() => Encoding.UTF8.GetString(ReadUtf8());

    /// <summary>
    /// Items in the next block of an array (0 ends it). A negative count is followed by the block's size in
    /// bytes, which is skipped. <paramref name="minItemBytes"/> (the smallest encoding of one item) bounds the
    /// count by the bytes left, so a corrupt count cannot make a caller loop or allocate for items that are not there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadBlockCount(int minItemBytes)
    {
        var start = _pos;
        var count = ReadLong();
        // The common block: a count the bytes left can hold (a multiplication: count <= Remaining fits an int).
        return count >= 0 && count <= Remaining && count * minItemBytes <= Remaining ? (int)count : BlockCountSlow(start, count, minItemBytes);
    }

    private int BlockCountSlow(int start, long count, int minItemBytes)
    {
        if (count < 0)
        {
            if (ReadLong() < 0)
            {
                throw new AvroDecodeException($"array block at byte {start} has a negative size");
            }
            count = count == long.MinValue ? long.MaxValue : -count;
        }
        return count <= Remaining / minItemBytes ? (int)count
            : throw new AvroDecodeException($"array block at byte {start} claims {count} items, more than the {Remaining} bytes left can hold");
    }

    private readonly AvroDecodeException Truncated() => new($"truncated: the record ends at byte {_data.Length} inside a value");
}
