using System.Security.Cryptography;
using NSec.Cryptography;
using SafeHaven.Core;

namespace SafeHaven.Security;

// Role-labelled keys: the optional third line "role: ROLE SUBJECT" of a key file says what the key may seal.
public static partial class SigningKeys
{
    private const string RolePrefix = "role: ";

    /// <summary>The role and subject a key file names; a file without a role line is a planner key.</summary>
    /// <exception cref="KeyFileException">Unreadable, or a malformed role line.</exception>
    public static (string Role, string Subject) RoleOf(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyFileException($"key file {path}: cannot read: {e.Message}", e);
        }
        if (lines.Length < 3 || lines[2].Length == 0)
        {
            return (KeyRoles.Planner, KeyRoles.Planner);
        }
        var parts = lines[2].StartsWith(RolePrefix, StringComparison.Ordinal) ? lines[2][RolePrefix.Length..].Split(' ') : [];
        if (parts.Length != 2 || !RecordSeal.Writers.ContainsKey(parts[0]) || !Identifiers.IsId(parts[1].Replace('/', ':')))
        {
            throw new KeyFileException($"key file {path}: third line must be 'role: ROLE SUBJECT' with ROLE one of {string.Join(", ", RecordSeal.Writers.Keys)}");
        }
        return (parts[0], parts[1]);
    }

    /// <summary>A private key file of any role, or the newest <c>.key</c> of <paramref name="role"/> in a directory.</summary>
    /// <exception cref="KeyFileException">None found, too open, or malformed.</exception>
    public static RecordSigner LoadRecordSigner(string path, string role)
    {
        var file = path;
        if (Directory.Exists(path))
        {
            file = new DirectoryInfo(path).GetFiles("*.key").OrderByDescending(f => f.LastWriteTimeUtc)
                .FirstOrDefault(f => RoleOf(f.FullName).Role == role)?.FullName
                ?? throw new KeyFileException($"key directory {path}: no {role} key (safehaven keys generate --dir {path} --role {role} --subject ...)");
        }
        RefuseOpenToOthers(file, "signing key");
        var (keyRole, subject) = RoleOf(file);
        if (keyRole != role)
        {
            throw new KeyFileException($"signing key {file}: a {keyRole} key, not a {role} key");
        }
        var raw = ReadKey(file, PrivateHeader, 32);
        try
        {
            var key = Key.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPrivateKey);
            return new RecordSigner(key, new KeyIdentity(KeyId(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)), role, subject));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>Every trusted public key of a file or directory, with its role and subject.</summary>
    /// <exception cref="KeyFileException">Nothing usable, writable by others, or malformed.</exception>
    public static RecordVerifier LoadRecordVerifier(string path)
    {
        var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.pub") : path.EndsWith(".mac", StringComparison.Ordinal) ? [] : [path];
        if (Directory.Exists(path))
        {
            RefuseWritableByOthers(path, "trusted key directory");
        }
        var keys = new Dictionary<string, (PublicKey, KeyIdentity)>(StringComparer.Ordinal);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            RefuseWritableByOthers(file, "trusted key");
            var raw = ReadKey(file, PublicHeader, 32);
            var (role, subject) = RoleOf(file);
            var id = KeyId(raw);
            keys[id] = (PublicKey.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey), new KeyIdentity(id, role, subject));
        }
        // A detector's trust directory may also hold the sample MAC master (secret: 0600, checked on load).
        var masters = SampleMacKeys.LoadMasters(path);
        return keys.Count > 0 || masters.Count > 0
            ? new RecordVerifier(keys, masters)
            : throw new KeyFileException($"trusted keys {path}: no .pub file");
    }

    private static string RoleLine(string role, string? subject)
    {
        if (!RecordSeal.Writers.ContainsKey(role))
        {
            throw new ArgumentException($"unknown key role '{role}' (expected one of {string.Join(", ", RecordSeal.Writers.Keys)})", nameof(role));
        }
        if (role == KeyRoles.Planner && subject is null)
        {
            return "";
        }
        if (subject is null || !Identifiers.IsId(subject.Replace('/', ':')))
        {
            throw new ArgumentException($"a {role} key needs a subject (a host as DATACENTER/HOST for a probe, an actuator id, a detector name)", nameof(subject));
        }
        return $"{RolePrefix}{role} {subject}\n";
    }
}
