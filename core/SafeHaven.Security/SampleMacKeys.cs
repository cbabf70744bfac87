using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using SafeHaven.Core;

namespace SafeHaven.Security;

/// <summary>
/// Per-host MAC keys for samples (docs/SECURITY.md, "Sample MACs"). Verifying an Ed25519 signature costs about as
/// much as the detector's whole work on a batch, so samples may instead carry an HMAC-SHA256 by a key that belongs to
/// one host: <c>K_host = HMAC-SHA256(master, "safehaven.v1.sample-mac" ‖ 0 ‖ DATACENTER/HOST)</c>. Detectors hold the
/// master and derive any host's key from the subject the record names; a probe holds only its own host's key, so a
/// stolen probe key forges that host's samples and nothing else, as with its Ed25519 key.
/// </summary>
public static class SampleMacKeys
{
    /// <summary>Header of the master key file (<c>KEYID.mac</c>, mode 0600, detectors only).</summary>
    public const string MasterHeader = "SAFEHAVEN SAMPLE MAC MASTER KEY";

    /// <summary>Header of a host key file (<c>KEYID.hostmac</c>, mode 0600, that host's probe only).</summary>
    public const string HostHeader = "SAFEHAVEN SAMPLE MAC HOST KEY";

    /// <summary>Header naming the host a MAC-sealed record speaks for (the key is derived from it).</summary>
    public const string SubjectHeader = "sh-for";

    /// <summary>The one record kind a host MAC seals: the detectors hold the master, nobody else.</summary>
    public const string Kind = "samples";

    /// <summary>Length of the MAC carried in <see cref="RecordSeal.SignatureHeader"/>.</summary>
    public const int MacLength = 32;

    private const int KeyLength = 32;
    private static readonly byte[] DeriveTag = "safehaven.v1.sample-mac\0"u8.ToArray();
    private static readonly byte[] IdTag = "safehaven.v1.sample-mac-id\0"u8.ToArray();

    /// <summary>The id of a master key (16 hex characters; a hash, so it reveals nothing of the key).</summary>
    public static string KeyId(ReadOnlySpan<byte> master)
    {
        var data = new byte[IdTag.Length + master.Length];
        IdTag.CopyTo(data, 0);
        master.CopyTo(data.AsSpan(IdTag.Length));
        return Convert.ToHexStringLower(SHA256.HashData(data)[..8]);
    }

    /// <summary>The MAC key of the host <paramref name="subject"/> (DATACENTER/HOST) under <paramref name="master"/>.</summary>
    public static byte[] Derive(ReadOnlySpan<byte> master, string subject)
    {
        var subjectBytes = Encoding.UTF8.GetBytes(subject);
        var data = new byte[DeriveTag.Length + subjectBytes.Length];
        DeriveTag.CopyTo(data, 0);
        subjectBytes.CopyTo(data, DeriveTag.Length);
        return HMACSHA256.HashData(master, data);
    }

    /// <summary>The MAC of a record of <paramref name="kind"/> under a host key: over the same bytes a signature covers.</summary>
    public static byte[] Mac(ReadOnlySpan<byte> hostKey, string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        // Pooled: this runs once per sample batch on the probe and on the detector.
        var length = RecordSeal.PayloadLength(kind, key.Length, value.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            RecordSeal.WritePayload(buffer, kind, key, value);
            return HMACSHA256.HashData(hostKey, buffer.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The MAC of a record with a keyed, reusable HMAC (the detector's path): fed the payload's parts in place, so no
    /// copy of the record is made and the HMAC is keyed once per host, not per record. Not thread-safe.
    /// </summary>
    public static bool MacEquals(IncrementalHash keyed, string kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ReadOnlySpan<byte> mac)
    {
        ArgumentNullException.ThrowIfNull(keyed);
        Span<byte> head = stackalloc byte[128];
        var headLength = RecordSeal.PayloadLength(kind, 0, 0) - 8;
        if (mac.Length != MacLength || headLength > head.Length - 4)
        {
            return false;
        }
        // The payload is tag, kind, key and value, each part after the tag length-prefixed: the same bytes as Mac().
        RecordSeal.WritePayload(head, kind, [], []);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(head[headLength..], key.Length);
        keyed.AppendData(head[..(headLength + 4)]);
        keyed.AppendData(key);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(head, value.Length);
        keyed.AppendData(head[..4]);
        keyed.AppendData(value);
        Span<byte> computed = stackalloc byte[MacLength];
        keyed.GetHashAndReset(computed);
        return CryptographicOperations.FixedTimeEquals(computed, mac);
    }

    /// <summary>Creates a master key in <paramref name="directory"/> (<c>KEYID.mac</c>, 0600); returns its id. Never overwrites.</summary>
    public static string GenerateMaster(string directory)
    {
        var master = RandomNumberGenerator.GetBytes(KeyLength);
        try
        {
            var id = KeyId(master);
            WriteSecret(Path.Combine(directory, id + ".mac"), $"{MasterHeader}\n{Convert.ToBase64String(master)}\n");
            return id;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(master);
        }
    }

    /// <summary>
    /// Enrols a host: writes its key, derived from the master file <paramref name="masterFile"/>, to
    /// <paramref name="directory"/> as <c>KEYID.hostmac</c> (0600); returns the path.
    /// </summary>
    /// <exception cref="KeyFileException">The master is unusable or too open, or the subject is not DATACENTER/HOST.</exception>
    public static string Enrol(string masterFile, string subject, string directory)
    {
        if (!IsHostSubject(subject))
        {
            throw new KeyFileException($"--subject '{Identifiers.Printable(subject)}': a host key speaks for DATACENTER/HOST");
        }
        var master = LoadSecret(masterFile, MasterHeader);
        var hostKey = Derive(master, subject);
        try
        {
            var path = Path.Combine(directory, KeyId(master) + ".hostmac");
            WriteSecret(path, $"{HostHeader}\n{Convert.ToBase64String(hostKey)}\nrole: {KeyRoles.Probe} {subject}\nmaster: {KeyId(master)}\n");
            return path;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(master);
            CryptographicOperations.ZeroMemory(hostKey);
        }
    }

    /// <summary>The master keys of a file or directory (<c>*.mac</c>), by id; empty when there are none.</summary>
    /// <exception cref="KeyFileException">A master file readable by group or others, or malformed.</exception>
    public static Dictionary<string, byte[]> LoadMasters(string path)
    {
        var files = Directory.Exists(path) ? Directory.GetFiles(path, "*.mac") : path.EndsWith(".mac", StringComparison.Ordinal) ? [path] : [];
        var masters = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var master = LoadSecret(file, MasterHeader);
            masters[KeyId(master)] = master;
        }
        return masters;
    }

    /// <summary>The newest host key of a directory (or the file) speaking for <paramref name="subject"/>, as a sample sealer; null when there is none.</summary>
    /// <exception cref="KeyFileException">A host key file too open or malformed.</exception>
    public static RecordSigner? LoadHostSealer(string path, string subject)
    {
        var files = Directory.Exists(path)
            ? new DirectoryInfo(path).GetFiles("*.hostmac").OrderByDescending(f => f.LastWriteTimeUtc).Select(f => f.FullName)
            : path.EndsWith(".hostmac", StringComparison.Ordinal) ? [path] : [];
        foreach (var file in files)
        {
            var key = LoadSecret(file, HostHeader);
            var lines = File.ReadAllLines(file);
            var (role, who) = SigningKeys.RoleOf(file);
            var masterId = lines.Length > 3 && lines[3].StartsWith("master: ", StringComparison.Ordinal) ? lines[3][8..] : "";
            if (role != KeyRoles.Probe || !Identifiers.IsId(masterId) || masterId.Length != 16)
            {
                throw new KeyFileException($"host MAC key {file}: expected 'role: probe DATACENTER/HOST' and 'master: KEYID' lines");
            }
            if (who == subject)
            {
                return RecordSigner.HostMac(key, new KeyIdentity(masterId, KeyRoles.Probe, subject));
            }
        }
        return null;
    }

    /// <summary>True for DATACENTER/HOST with two identifier parts.</summary>
    public static bool IsHostSubject(string subject) =>
        subject.Split('/') is [var dc, var host] && Identifiers.IsId(dc) && Identifiers.IsId(host);

    private static byte[] LoadSecret(string file, string header)
    {
        SigningKeys.RefuseOpenToOthers(file, "MAC key");
        return SigningKeys.ReadKey(file, header, KeyLength);
    }

    private static void WriteSecret(string path, string text)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("key files rely on Unix file modes");
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        if (File.Exists(path))
        {
            throw new KeyFileException($"key file {path} exists; keys are never overwritten");
        }
        using (var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var w = new StreamWriter(stream))
        {
            w.Write(text);
        }
        // The create mode is cut by the umask, which may also be looser: set it explicitly.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
