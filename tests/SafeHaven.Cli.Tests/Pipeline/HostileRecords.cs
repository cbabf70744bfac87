using Avro.Specific;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Security;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>What the pipeline must do with a hostile record.</summary>
internal enum Expect
{
    /// <summary>Refused: exactly one dead letter naming its topic, partition and offset.</summary>
    DeadLetter,

    /// <summary>Authentic (a replay of a genuine record, or sealed by a genuine key) and harmless: no dead letter, no effect checked below.</summary>
    Accepted,
}

/// <summary>One hostile record to produce, and what must become of it.</summary>
internal sealed record Hostile(string Topic, string Category, string? Key, byte[]? Value, Headers? Headers, Expect Expect);

/// <summary>
/// The hostile records of one topic. <paramref name="genuine"/> is the key of the role allowed to write the topic's kind
/// (null for commands, which carry their signature inside); <paramref name="foreign"/> one of the same role that nobody
/// enrolled. Records "sealed" by the genuine key stand for a compromised or buggy role: the seal passes, so decoding,
/// bounds and policy must refuse them.
/// </summary>
internal sealed class HostileRecords(Random random, string topic, string kind, RecordSigner? genuine, RecordSigner? foreign)
{
    public List<Hostile> Records { get; } = [];

    /// <summary>Adds a record, sealed by <paramref name="sealedBy"/> when given.</summary>
    public void Add(string category, string? key, byte[]? value, Expect expect, RecordSigner? sealedBy = null) =>
        Records.Add(new Hostile(topic, category, key, value, sealedBy is null ? null : Seals.Headers(sealedBy, kind, key, value), expect));

    /// <summary>
    /// Bytes that are not a record: random (0–1 KiB), garbage after the right header, genuine bytes truncated or under
    /// a wrong fingerprint (unsealed and sealed), and 1 MiB of random bytes. All dead-lettered.
    /// </summary>
    public void Junk(byte[] template, Func<string> key)
    {
        for (var i = 0; i < 150; i++)
        {
            Add("random bytes", key(), Bytes(random.Next(0, 1025)), Expect.DeadLetter);
        }
        for (var i = 0; i < 50; i++)
        {
            Add("garbage body after a valid header", key(), [.. template[..10], .. Bytes(random.Next(1, 513))], Expect.DeadLetter);
        }
        for (var i = 0; i < 200; i++)
        {
            var sealedBy = i % 2 == 0 ? null : genuine;
            Add(sealedBy is null ? "truncated" : "truncated, sealed", key(), template[..random.Next(1, template.Length - 1)], Expect.DeadLetter, sealedBy);
        }
        for (var i = 0; i < 150; i++)
        {
            var wrong = (byte[])template.Clone();
            wrong[2 + random.Next(8)] ^= (byte)random.Next(1, 256);
            var sealedBy = i % 3 == 0 ? genuine : null;
            Add(sealedBy is null ? "wrong fingerprint" : "wrong fingerprint, sealed", key(), wrong, Expect.DeadLetter, sealedBy);
        }
        Add("oversized (1 MiB random)", key(), Bytes(1024 * 1024), Expect.DeadLetter);
    }

    /// <summary>
    /// Decodable records with absurd values, sealed by the genuine key: each of <paramref name="mutations"/> in turn,
    /// applied to a fresh copy of <paramref name="template"/>, until <paramref name="count"/> records.
    /// </summary>
    public void Absurd<T>(T template, IReadOnlyList<(string Label, Action<T, int> Mutate)> mutations, int count, Func<T, string> keyOf)
        where T : class, ISpecificRecord, new()
    {
        for (var i = 0; i < count; i++)
        {
            var (label, mutate) = mutations[i % mutations.Count];
            var copy = Copy(template);
            mutate(copy, i);
            Add((genuine is null ? "absurd: " : "absurd, sealed: ") + label, keyOf(copy), new SingleObjectCodec<T>().Encode(copy), Expect.DeadLetter, genuine);
        }
    }

    /// <summary>
    /// Harmful but well-formed records, <paramref name="make"/>(i): 100 unsealed, 100 sealed by the foreign key, and 50
    /// tampered (the genuine seal of <paramref name="original"/> kept on altered bytes). All dead-lettered.
    /// </summary>
    public void Forged<T>(string label, Func<int, T?> make, Func<int, string> keyOf, T original) where T : class, ISpecificRecord, new()
    {
        var codec = new SingleObjectCodec<T>();
        for (var i = 0; i < 250; i++)
        {
            var value = make(i) is { } record ? codec.Encode(record) : null;
            if (i < 100)
            {
                Add($"forged, unsealed: {label}", keyOf(i), value, Expect.DeadLetter);
            }
            else if (i < 200)
            {
                Add($"forged, sealed by an unenrolled key: {label}", keyOf(i), value, Expect.DeadLetter, foreign);
            }
            else
            {
                var seal = Seals.Headers(genuine!, kind, keyOf(i), codec.Encode(original));
                Records.Add(new Hostile(topic, $"forged, genuine seal of another record: {label}", keyOf(i), value, seal, Expect.DeadLetter));
            }
        }
    }

    /// <summary>Genuine records produced again as they were, headers included, until <paramref name="count"/>.</summary>
    public void Replays(IReadOnlyList<RawRecord> genuineRecords, int count)
    {
        for (var i = 0; i < count && genuineRecords.Count > 0; i++)
        {
            var r = genuineRecords[i % genuineRecords.Count];
            Records.Add(new Hostile(topic, "replay of a genuine record", r.Key, r.Value, Copy(r.Headers), Expect.Accepted));
        }
    }

    /// <summary>A printable key of 1–40 characters.</summary>
    public string RandomKey() => string.Create(random.Next(1, 41), random, (span, r) =>
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (char)r.Next('!', '~' + 1);
        }
    });

    /// <summary>A string of <paramref name="length"/> characters.</summary>
    public static string Long(int length) => new('x', length);

    public static T Copy<T>(T record) where T : class, ISpecificRecord, new()
    {
        var codec = new SingleObjectCodec<T>();
        return codec.Decode(codec.Encode(record));
    }

    private byte[] Bytes(int n)
    {
        var b = new byte[n];
        random.NextBytes(b);
        return b;
    }

    private static Headers? Copy(Headers? headers)
    {
        if (headers is null)
        {
            return null;
        }
        var copy = new Headers();
        foreach (var h in headers)
        {
            copy.Add(h.Key, h.GetValueBytes());
        }
        return copy;
    }
}
