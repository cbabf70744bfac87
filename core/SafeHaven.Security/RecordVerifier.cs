using System.Security.Cryptography;
using NSec.Cryptography;

namespace SafeHaven.Security;

/// <summary>
/// Checks record seals against the trusted public keys: the key must be trusted, its role allowed to write the
/// record's kind, and the signature valid over kind, key and value. Samples may instead carry a host MAC
/// (<see cref="SampleMacKeys"/>), checked with a trusted master. What the subject may speak for (a probe for its
/// own host, an actuator for its own commands) is the consumer's check, with the returned identity.
/// </summary>
public sealed class RecordVerifier(IReadOnlyDictionary<string, (PublicKey Key, KeyIdentity Who)> keys, IReadOnlyDictionary<string, byte[]>? sampleMasters = null)
{
    private readonly IReadOnlyDictionary<string, byte[]> _masters = sampleMasters ?? new Dictionary<string, byte[]>();

    /// <summary>A verifier trusting the given in-process signers (one process running several roles).</summary>
    public static RecordVerifier Trusting(params RecordSigner[] signers) => Trusting(null, signers);

    /// <summary>As <see cref="Trusting(RecordSigner[])"/>, also checking host MACs of samples under <paramref name="sampleMasters"/>.</summary>
    public static RecordVerifier Trusting(IReadOnlyDictionary<string, byte[]>? sampleMasters, params RecordSigner[] signers) =>
        new(signers.ToDictionary(s => s.Identity.KeyId, s => (s.PublicKey, s.Identity), StringComparer.Ordinal), sampleMasters);

    /// <summary>
    /// A verifier trusting this one's keys and sample masters, plus the keys of <paramref name="other"/> that
    /// <paramref name="include"/> admits (all when null; <paramref name="other"/>'s sample masters are not taken).
    /// </summary>
    public RecordVerifier With(RecordVerifier other, Func<KeyIdentity, bool>? include = null)
    {
        ArgumentNullException.ThrowIfNull(other);
        var merged = new Dictionary<string, (PublicKey Key, KeyIdentity Who)>(keys, StringComparer.Ordinal);
        foreach (var (id, entry) in other.TrustedKeys)
        {
            if (include?.Invoke(entry.Who) != false)
            {
                merged.TryAdd(id, entry);
            }
        }
        return new RecordVerifier(merged, _masters);
    }

    private IReadOnlyDictionary<string, (PublicKey Key, KeyIdentity Who)> TrustedKeys => keys;

    /// <summary>The trusted identities.</summary>
    public IEnumerable<KeyIdentity> Identities => keys.Values.Select(k => k.Who);

    /// <summary>The ids of the trusted sample MAC masters.</summary>
    public IEnumerable<string> SampleMasters => _masters.Keys;

    /// <summary>True when some trusted key has <paramref name="role"/> (a sample MAC master counts as a probe key).</summary>
    public bool Trusts(string role) => keys.Values.Any(k => k.Who.Role == role) || (role == KeyRoles.Probe && _masters.Count > 0);

    /// <summary>The identity that sealed the record, or the reason it is not authentic.</summary>
    /// <param name="kind">The record's kind.</param>
    /// <param name="key">Its key bytes.</param>
    /// <param name="value">Its value bytes.</param>
    /// <param name="keyId">The <see cref="RecordSeal.KeyHeader"/>.</param>
    /// <param name="signature">The <see cref="RecordSeal.SignatureHeader"/>.</param>
    /// <param name="subject">The <see cref="SampleMacKeys.SubjectHeader"/>, for host MACs.</param>
    public (KeyIdentity? Who, string? Problem) Verify(string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, string? keyId,
        ReadOnlySpan<byte> signature, string? subject = null)
    {
        if (keyId is null || signature.IsEmpty)
        {
            return (null, $"unsigned {kind} record");
        }
        if (_masters.TryGetValue(keyId, out var master))
        {
            return VerifyMac(master, kind, key, value, keyId, signature, subject);
        }
        if (!keys.TryGetValue(keyId, out var trusted))
        {
            return (null, $"{kind} record sealed by untrusted key '{(SafeHaven.Core.Identifiers.IsId(keyId) ? keyId : "?")}'");
        }
        if (!RecordSeal.Writers.TryGetValue(trusted.Who.Role, out var kinds) || !kinds.Contains(kind))
        {
            return (null, $"{kind} record sealed by {trusted.Who.Role} key {keyId}, which may not write {kind}");
        }
        return signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify(trusted.Key, RecordSeal.Payload(kind, key, value), signature)
            ? (trusted.Who, null)
            : (null, $"bad seal on a {kind} record: altered, moved from another topic, or not signed by key {keyId}");
    }

    // Keyed HMACs per (master, host): a detector checks the same hosts tick after tick. Bounded, since the subject
    // comes off the bus: past the bound the cache starts again, so a flood of invented hosts costs time, not memory.
    private const int MaxCachedHosts = 65_536;
    private readonly Dictionary<(string, string), System.Security.Cryptography.IncrementalHash> _hostMacs = [];
    private readonly Lock _hostMacsLock = new();

    private (KeyIdentity?, string?) VerifyMac(byte[] master, string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        string keyId, ReadOnlySpan<byte> mac, string? subject)
    {
        if (kind != SampleMacKeys.Kind)
        {
            return (null, $"{kind} record sealed by the sample MAC master {keyId}, which seals samples only");
        }
        if (subject is null || !SampleMacKeys.IsHostSubject(subject))
        {
            return (null, $"MAC-sealed {kind} record without a valid '{SampleMacKeys.SubjectHeader}' header (DATACENTER/HOST)");
        }
        bool valid;
        lock (_hostMacsLock)
        {
            if (!_hostMacs.TryGetValue((keyId, subject), out var keyed))
            {
                if (_hostMacs.Count >= MaxCachedHosts)
                {
                    foreach (var h in _hostMacs.Values)
                    {
                        h.Dispose();
                    }
                    _hostMacs.Clear();
                }
                var hostKey = SampleMacKeys.Derive(master, subject);
                keyed = System.Security.Cryptography.IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, hostKey);
                CryptographicOperations.ZeroMemory(hostKey);
                _hostMacs[(keyId, subject)] = keyed;
            }
            valid = SampleMacKeys.MacEquals(keyed, kind, key, value, mac);
        }
        return valid
            ? (new KeyIdentity(keyId, KeyRoles.Probe, subject), null)
            : (null, $"bad MAC on a {kind} record of '{subject}': altered, moved from another topic, or not sealed by that host's key");
    }
}
