using NSec.Cryptography;

namespace SafeHaven.Security;

/// <summary>
/// Checks record seals against the trusted public keys: the key must be trusted, its role allowed to write the
/// record's kind, and the signature valid over kind, key and value. What the subject may speak for (a probe for its
/// own host, an actuator for its own commands) is the consumer's check, with the returned identity.
/// </summary>
public sealed class RecordVerifier(IReadOnlyDictionary<string, (PublicKey Key, KeyIdentity Who)> keys)
{
    /// <summary>A verifier trusting the given in-process signers (one process running several roles).</summary>
    public static RecordVerifier Trusting(params RecordSigner[] signers) =>
        new(signers.ToDictionary(s => s.Identity.KeyId, s => (s.PublicKey, s.Identity), StringComparer.Ordinal));

    /// <summary>The trusted identities.</summary>
    public IEnumerable<KeyIdentity> Identities => keys.Values.Select(k => k.Who);

    /// <summary>True when some trusted key has <paramref name="role"/>.</summary>
    public bool Trusts(string role) => keys.Values.Any(k => k.Who.Role == role);

    /// <summary>The identity that sealed the record, or the reason it is not authentic.</summary>
    public (KeyIdentity? Who, string? Problem) Verify(string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, string? keyId, ReadOnlySpan<byte> signature)
    {
        if (keyId is null || signature.IsEmpty)
        {
            return (null, $"unsigned {kind} record");
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
}
