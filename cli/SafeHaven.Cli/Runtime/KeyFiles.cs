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
            file = new DirectoryInfo(path).GetFiles("*.key").OrderByDescending(f => f.LastWriteTimeUtc).FirstOrDefault()?.FullName
                ?? throw new UsageException($"--signing-key {path}: no .key file in the directory (safehaven keys generate --dir {path})");
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

    /// <summary>The directory a key flag points into.</summary>
    public static string Directory(string path) =>
        System.IO.Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
}
