namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// CRC-64-AVRO, written from the Avro specification ("Schema Fingerprints") and independent of
/// Apache.Avro's implementation, so the codec's fingerprints can be checked against it.
/// </summary>
internal static class Crc64Avro
{
    public const ulong Empty = 0xc15d213aa4d7a795;

    private static readonly ulong[] Table = BuildTable();

    private static ulong[] BuildTable()
    {
        var table = new ulong[256];
        for (var i = 0; i < 256; i++)
        {
            var fp = (ulong)i;
            for (var j = 0; j < 8; j++)
            {
                fp = (fp >> 1) ^ (Empty & (0UL - (fp & 1)));
            }
            table[i] = fp;
        }
        return table;
    }

    public static ulong Fingerprint(ReadOnlySpan<byte> data)
    {
        var fp = Empty;
        foreach (var b in data)
        {
            fp = (fp >> 8) ^ Table[(int)((fp ^ b) & 0xff)];
        }
        return fp;
    }
}
