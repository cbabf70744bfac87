using System.Buffers.Binary;
using System.Text;
using NSec.Cryptography;

namespace SafeHaven.Security;

/// <summary>
/// Who may write which kind of record (docs/SECURITY.md). A record is sealed with an Ed25519 signature over its
/// kind (the topic's role, not its prefixed name), its key and its value bytes, carried in two Kafka headers, so the
/// value schemas stay as they are and a record cannot be moved to another topic or re-keyed without breaking it.
/// </summary>
public static class RecordSeal
{
    /// <summary>Header holding the signing key's id (16 hex characters).</summary>
    public const string KeyHeader = "sh-key";

    /// <summary>Header holding the 64-byte Ed25519 signature.</summary>
    public const string SignatureHeader = "sh-sig";

    /// <summary>The roles that hold keys, and the record kinds each may write.</summary>
    public static IReadOnlyDictionary<string, IReadOnlySet<string>> Writers { get; } = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal)
    {
        [KeyRoles.Probe] = new HashSet<string>(["samples", "inventory"], StringComparer.Ordinal),
        [KeyRoles.Detector] = new HashSet<string>(["detections"], StringComparer.Ordinal),
        [KeyRoles.Actuator] = new HashSet<string>(["results", "inventory"], StringComparer.Ordinal),
        // Results too: the skipped outcome of a move a budget refused (it names no outstanding command).
        // Action leases and reservations: the cross-datacenter move protocol between two datacenters' planners.
        [KeyRoles.Planner] = new HashSet<string>(["commands", "placements", "results", "action-leases", "reservations"], StringComparer.Ordinal),
    };

    /// <summary>The bytes a seal signs: a domain tag, then the kind, key and value, each length-prefixed.</summary>
    public static byte[] Payload(string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var buffer = new byte[PayloadLength(kind, key.Length, value.Length)];
        WritePayload(buffer, kind, key, value);
        return buffer;
    }

    /// <summary>The length of <see cref="Payload"/>.</summary>
    public static int PayloadLength(string kind, int keyLength, int valueLength) =>
        Tag.Length + 12 + Encoding.UTF8.GetByteCount(kind) + keyLength + valueLength;

    /// <summary>Writes <see cref="Payload"/> into the start of <paramref name="buffer"/>.</summary>
    public static void WritePayload(Span<byte> buffer, string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        Tag.CopyTo(buffer);
        var kindLength = Encoding.UTF8.GetBytes(kind, buffer[(Tag.Length + 4)..]);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(buffer[Tag.Length..], kindLength);
        var at = Put(buffer, Tag.Length + 4 + kindLength, key);
        Put(buffer, at, value);
    }

    private static ReadOnlySpan<byte> Tag => "safehaven.v1.record"u8;

    private static int Put(Span<byte> buffer, int at, ReadOnlySpan<byte> part)
    {
        BinaryPrimitives.WriteInt32BigEndian(buffer[at..], part.Length);
        part.CopyTo(buffer[(at + 4)..]);
        return at + 4 + part.Length;
    }
}

/// <summary>Role names of keys (the <c>role:</c> line of a public key file).</summary>
public static class KeyRoles
{
    /// <summary>A host's probe: samples and process inventory of its host (subject: DATACENTER/HOST).</summary>
    public const string Probe = "probe";

    /// <summary>A detector instance: detections.</summary>
    public const string Detector = "detector";

    /// <summary>An actuator: results of its own commands and its capability record (subject: its actuator id).</summary>
    public const string Actuator = "actuator";

    /// <summary>The planner: commands and ledger records. Key files without a role line are planner keys.</summary>
    public const string Planner = "planner";
}

/// <summary>The trusted identity behind a verified seal.</summary>
/// <param name="KeyId">The key.</param>
/// <param name="Role">Its role.</param>
/// <param name="Subject">What it speaks for: a host (DATACENTER/HOST) for a probe, an actuator id, or a free name.</param>
public sealed record KeyIdentity(string KeyId, string Role, string Subject);

/// <summary>Seals records with one role's private key.</summary>
public sealed class RecordSigner : IDisposable
{
    private readonly Key? _key;
    private readonly byte[]? _hostMacKey;

    internal RecordSigner(Key key, KeyIdentity identity)
    {
        _key = key;
        Identity = identity;
    }

    private RecordSigner(byte[] hostMacKey, KeyIdentity identity)
    {
        _hostMacKey = hostMacKey;
        Identity = identity;
    }

    /// <summary>A sealer of samples with a host's MAC key (<see cref="SampleMacKeys"/>); its key id is the master's.</summary>
    public static RecordSigner HostMac(byte[] hostKey, KeyIdentity identity) => new(hostKey, identity);

    /// <summary>True when this seals with a host MAC key: the record must also name its subject (<see cref="SampleMacKeys.SubjectHeader"/>).</summary>
    public bool IsHostMac => _hostMacKey is not null;

    /// <summary>Whose key this is.</summary>
    public KeyIdentity Identity { get; }

    /// <summary>A signer with a fresh in-memory key, for roles that share one process (<c>up</c>, the demo).</summary>
    public static RecordSigner Ephemeral(string role, string subject)
    {
        var key = Key.Create(SignatureAlgorithm.Ed25519);
        var id = SigningKeys.KeyId(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        return new RecordSigner(key, new KeyIdentity(id, role, subject));
    }

    /// <summary>The public half, to trust in the same process.</summary>
    public PublicKey PublicKey => _key?.PublicKey ?? throw new InvalidOperationException("a host MAC key has no public half");

    /// <summary>The signature of a record of <paramref name="kind"/> with <paramref name="key"/> and <paramref name="value"/>.</summary>
    public byte[] Sign(string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (!RecordSeal.Writers.TryGetValue(Identity.Role, out var kinds) || !kinds.Contains(kind))
        {
            throw new InvalidOperationException($"a {Identity.Role} key does not write {kind} records");
        }
        if (_hostMacKey is not null && kind != SampleMacKeys.Kind)
        {
            throw new InvalidOperationException($"a host MAC key seals samples only, not {kind} records");
        }
        return _hostMacKey is { } mac
            ? SampleMacKeys.Mac(mac, kind, key, value)
            : SignatureAlgorithm.Ed25519.Sign(_key!, RecordSeal.Payload(kind, key, value));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _key?.Dispose();
        if (_hostMacKey is { } mac)
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(mac);
        }
    }
}
