using NSec.Cryptography;
using SafeHaven.Schemas;

namespace SafeHaven.Security;

/// <summary>Signs commands with the planner's private key (Ed25519 over <see cref="CanonicalCommand"/>).</summary>
public sealed class CommandSigner : IDisposable
{
    private readonly Key _key;

    internal CommandSigner(Key key, string keyId)
    {
        _key = key;
        KeyId = keyId;
    }

    /// <summary>Id of the signing key, written into <c>keyId</c>.</summary>
    public string KeyId { get; }

    /// <summary>A signer with a fresh key that lives only in memory, for one process running every role.</summary>
    public static CommandSigner Ephemeral(out CommandVerifier verifier)
    {
        var key = Key.Create(SignatureAlgorithm.Ed25519);
        var pub = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var id = SigningKeys.KeyId(pub);
        verifier = new CommandVerifier(new Dictionary<string, PublicKey> { [id] = key.PublicKey });
        return new CommandSigner(key, id);
    }

    /// <summary>Sets <c>keyId</c> and <c>signature</c> of <paramref name="command"/>.</summary>
    public void Sign(IsolationCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.keyId = KeyId;
        command.signature = SignatureAlgorithm.Ed25519.Sign(_key, CanonicalCommand.Bytes(command));
    }

    /// <inheritdoc/>
    public void Dispose() => _key.Dispose();
}

/// <summary>Verifies command signatures against the trusted public keys (by key id).</summary>
public sealed class CommandVerifier(IReadOnlyDictionary<string, PublicKey> keys)
{
    /// <summary>Ids of the trusted keys.</summary>
    public IReadOnlyCollection<string> KeyIds => [.. keys.Keys];

    /// <summary>Null when the signature is valid, else why not.</summary>
    public string? Problem(IsolationCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.signature is not { Length: > 0 } || command.keyId is null)
        {
            return "unsigned command";
        }
        if (!keys.TryGetValue(command.keyId, out var key))
        {
            return $"command signed by untrusted key '{(SafeHaven.Core.Identifiers.IsId(command.keyId) ? command.keyId : "?")}'";
        }
        return SignatureAlgorithm.Ed25519.Verify(key, CanonicalCommand.Bytes(command), command.signature)
            ? null
            : "bad signature: the command was altered or not signed by the key it names";
    }
}
