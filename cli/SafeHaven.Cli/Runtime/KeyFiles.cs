using SafeHaven.Kafka.Clients;
using SafeHaven.Security;

namespace SafeHaven.Cli.Runtime;

/// <summary>Key flags to keys: a missing or unusable key is bad input (exit 2) naming the file.</summary>
internal static class KeyFiles
{
    /// <summary>A private key file, or the newest <c>.key</c> of a directory (rotation: the newest key signs).</summary>
    public static CommandSigner Signer(string path)
    {
        var file = path;
        if (System.IO.Directory.Exists(path))
        {
            // Role keys (probe, actuator, ...) may share the directory: only a planner key signs commands.
            file = new DirectoryInfo(path).GetFiles("*.key").OrderByDescending(f => f.LastWriteTimeUtc)
                .FirstOrDefault(f => IsPlannerKey(f.FullName))?.FullName
                ?? throw new UsageException($"--signing-key {path}: no planner .key file in the directory (safehaven keys generate --dir {path})");
        }
        try
        {
            return SigningKeys.LoadSigner(file);
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    public static CommandVerifier Verifier(string path)
    {
        try
        {
            return SigningKeys.LoadVerifier(path);
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>The key of <paramref name="role"/> for record seals: the file, or the newest of that role in a directory; it must speak for <paramref name="subject"/>.</summary>
    public static RecordSigner RecordSigner(string path, string role, string subject)
    {
        try
        {
            var signer = SigningKeys.LoadRecordSigner(path, role);
            if (signer.Identity.Subject != subject)
            {
                signer.Dispose();
                throw new UsageException($"--signing-key {path}: the {role} key speaks for '{signer.Identity.Subject}', not '{subject}'");
            }
            return signer;
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>
    /// A probe's seals from its --signing-key: its Ed25519 key (inventory, and samples when it has no other), and the
    /// host MAC key of its host (samples) when the directory holds one (<c>safehaven keys enrol</c>).
    /// </summary>
    public static RoleSeals ProbeSeals(string path, string subject)
    {
        var signer = RecordSigner(path, KeyRoles.Probe, subject);
        try
        {
            var mac = SampleMacKeys.LoadHostSealer(path, subject);
            return mac is null ? RoleSeals.From(null, signer) : RoleSeals.From(null, signer, mac);
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>Every trusted key with its role, for checking record seals.</summary>
    public static RecordVerifier RecordVerifier(string path)
    {
        try
        {
            return SigningKeys.LoadRecordVerifier(path);
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    private static bool IsPlannerKey(string file)
    {
        try
        {
            return SigningKeys.RoleOf(file).Role == KeyRoles.Planner;
        }
        catch (KeyFileException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>The directory a key flag points into.</summary>
    public static string Directory(string path) =>
        System.IO.Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
}
