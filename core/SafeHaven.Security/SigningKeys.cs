using System.Security.Cryptography;
using NSec.Cryptography;

namespace SafeHaven.Security;

/// <summary>A signing or trust-store key file could not be used; the message names the file and why.</summary>
public sealed class KeyFileException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Ed25519 key files. A key pair is two text files: <c>NAME.key</c> (the private key, mode 0600,
/// only for the planner) and <c>NAME.pub</c> (the public key, for actuators). Each holds one
/// header line and the base64 raw key. The key id is the first 8 bytes of SHA-256 of the public
/// key, in hex, so a command names the key that signed it and keys can rotate.
/// </summary>
public static partial class SigningKeys
{
    /// <summary>Header of private key files.</summary>
    public const string PrivateHeader = "SAFEHAVEN ED25519 PRIVATE KEY";

    /// <summary>Header of public key files.</summary>
    public const string PublicHeader = "SAFEHAVEN ED25519 PUBLIC KEY";

    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;

    /// <summary>Key id of a raw 32-byte public key.</summary>
    public static string KeyId(ReadOnlySpan<byte> publicKey) => Convert.ToHexStringLower(SHA256.HashData(publicKey)[..8]);

    /// <summary>Creates a new key pair in <paramref name="directory"/>; returns the key id. Never overwrites.</summary>
    public static string Generate(string directory) => Generate(directory, KeyRoles.Planner, null);

    /// <summary>Creates a new key pair of <paramref name="role"/> speaking for <paramref name="subject"/>; returns the key id.</summary>
    public static string Generate(string directory, string role, string? subject)
    {
        var roleLine = RoleLine(role, subject);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("key files rely on Unix file modes");
        }
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        using var key = Key.Create(Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var pub = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var id = KeyId(pub);
        var priv = Path.Combine(directory, id + ".key");
        using (var stream = new FileStream(priv, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var w = new StreamWriter(stream))
        {
            w.Write($"{PrivateHeader}\n{Convert.ToBase64String(key.Export(KeyBlobFormat.RawPrivateKey))}\n{roleLine}");
        }
        var pubFile = Path.Combine(directory, id + ".pub");
        File.WriteAllText(pubFile, $"{PublicHeader}\n{Convert.ToBase64String(pub)}\n{roleLine}");
        // The create modes above are cut by the umask (which may also be looser than ours): set both explicitly.
        File.SetUnixFileMode(priv, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(pubFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return id;
    }

    /// <summary>Loads a private key file; refuses one that group or others can read.</summary>
    /// <exception cref="KeyFileException">Missing, unreadable, too open or malformed.</exception>
    public static CommandSigner LoadSigner(string path)
    {
        RefuseOpenToOthers(path, "signing key");
        var raw = ReadKey(path, PrivateHeader, 32);
        try
        {
            if (RoleOf(path) is { Role: not KeyRoles.Planner } other)
            {
                throw new KeyFileException($"signing key {path}: a {other.Role} key, not a planner key");
            }
            var key = Key.Import(Ed25519, raw, KeyBlobFormat.RawPrivateKey);
            return new CommandSigner(key, KeyId(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(raw);
        }
    }

    /// <summary>Loads trusted public keys: one <c>.pub</c> file, or every <c>.pub</c> file of a directory.</summary>
    /// <exception cref="KeyFileException">Nothing usable, or a malformed file.</exception>
    public static CommandVerifier LoadVerifier(string path)
    {
        var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.pub") : [path];
        if (Directory.Exists(path))
        {
            RefuseWritableByOthers(path, "trusted key directory");
        }
        var keys = new Dictionary<string, PublicKey>(StringComparer.Ordinal);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            // Whoever can write a trusted key can sign commands that root actuators execute.
            RefuseWritableByOthers(file, "trusted key");
            var raw = ReadKey(file, PublicHeader, 32);
            // Only planner keys sign commands: a probe's or an actuator's key in the same directory must not.
            if (RoleOf(file).Role == KeyRoles.Planner)
            {
                keys[KeyId(raw)] = PublicKey.Import(Ed25519, raw, KeyBlobFormat.RawPublicKey);
            }
        }
        return keys.Count > 0 ? new CommandVerifier(keys) : throw new KeyFileException($"trusted keys {path}: no planner .pub file");
    }

    // A private key anyone else can read is a key anyone else holds.
    internal static void RefuseOpenToOthers(string path, string what)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path) &&
            (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new KeyFileException($"{what} {path}: readable or writable by group or others; chmod 600 it");
        }
    }

    internal static void RefuseWritableByOthers(string path, string what)
    {
        if (OperatingSystem.IsWindows() || !Path.Exists(path))
        {
            return;
        }
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw new KeyFileException($"{what} {path}: writable by group or others (mode {Convert.ToString((int)mode, 8)}); chmod go-w it");
        }
    }

    internal static byte[] ReadKey(string path, string header, int length)
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
        if (lines.Length < 2 || lines[0] != header)
        {
            throw new KeyFileException($"key file {path}: expected a '{header}' file");
        }
        try
        {
            var raw = Convert.FromBase64String(lines[1]);
            return raw.Length == length ? raw : throw new KeyFileException($"key file {path}: key must be {length} bytes, got {raw.Length}");
        }
        catch (FormatException e)
        {
            throw new KeyFileException($"key file {path}: key is not base64", e);
        }
    }
}
