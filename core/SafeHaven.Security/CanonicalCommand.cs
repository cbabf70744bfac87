using System.Buffers.Binary;
using System.Text;
using SafeHaven.Schemas;

namespace SafeHaven.Security;

/// <summary>
/// The bytes a command signature covers: every field but <c>signature</c>, in a fixed order,
/// each length-prefixed, behind a domain tag. Independent of the wire format (single-object or
/// registry) and of field order in the schema, so a signature verifies wherever it travels.
/// </summary>
public static class CanonicalCommand
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("safehaven.v1.IsolationCommand\n");

    /// <summary>The canonical bytes of <paramref name="c"/>.</summary>
    public static byte[] Bytes(IsolationCommand c)
    {
        ArgumentNullException.ThrowIfNull(c);
        using var ms = new MemoryStream(256);
        ms.Write(Domain);
        Str(ms, c.commandId);
        Str(ms, c.detectionId);
        var e = c.entity ?? new EntityRef();
        Str(ms, e.datacenter);
        Str(ms, e.host);
        Str(ms, e.vm);
        Str(ms, e.container);
        Long(ms, e.pid ?? -1);
        Str(ms, e.comm);
        Long(ms, e.startTime ?? -1);
        Str(ms, c.level);
        Str(ms, c.action);
        Str(ms, c.source);
        Str(ms, c.target);
        Long(ms, c.issuedAtNs);
        Long(ms, c.deadlineNs);
        ms.WriteByte(c.dryRun ? (byte)1 : (byte)0);
        var reasons = c.reasons ?? [];
        Long(ms, reasons.Count);
        foreach (var r in reasons)
        {
            Str(ms, r);
        }
        Str(ms, c.keyId);
        // Appended only when set, so commands without a group keep the bytes (and signatures) they always had.
        // Each later optional field writes the earlier ones too (null marked), so no two of them read as each other.
        if (c.group is not null || c.cluster is not null || c.leaseEpoch is not null)
        {
            Str(ms, c.group);
        }
        if (c.cluster is not null || c.leaseEpoch is not null)
        {
            Str(ms, c.cluster);
        }
        if (c.leaseEpoch is { } epoch)
        {
            Long(ms, epoch);
        }
        return ms.ToArray();
    }

    // Null and empty differ: -1 marks null, so no two commands share canonical bytes.
    private static void Str(MemoryStream ms, string? s)
    {
        if (s is null)
        {
            Long(ms, -1);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(s);
        Long(ms, bytes.Length);
        ms.Write(bytes);
    }

    private static void Long(MemoryStream ms, long v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, v);
        ms.Write(b);
    }
}
