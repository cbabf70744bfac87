namespace SafeHaven.Kafka.Clients;

/// <summary>Checks and reads the files that hold Kafka credentials: they must exist and be private to their owner.</summary>
internal static class SecretFile
{
    // Read is what leaks the secret; write lets another user swap in their own key or password and so
    // decide which principal this role connects as.
    private const UnixFileMode NotOwner = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    /// <summary>Throws <see cref="KafkaSecurityException"/> unless <paramref name="path"/> is a regular file only its owner may read or write.</summary>
    public static void RequirePrivate(string setting, string path)
    {
        if (!File.Exists(path))
        {
            throw new KafkaSecurityException(setting, $"'{path}' does not exist or is not a file");
        }
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        // GetUnixFileMode follows symbolic links: the mode that counts is the one of the file read.
        var mode = File.GetUnixFileMode(path);
        if ((mode & NotOwner) != 0)
        {
            throw new KafkaSecurityException(setting,
                $"'{path}' is readable or writable by group or others (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}): chmod 600 it");
        }
    }

    /// <summary>The first line of <paramref name="path"/> (the secret), after the checks of <see cref="RequirePrivate"/>.</summary>
    public static string ReadLine(string setting, string path)
    {
        RequirePrivate(setting, path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KafkaSecurityException(setting, $"'{path}' cannot be read: {e.Message}");
        }
        // One line: `echo secret > file` leaves a newline that is not part of the secret.
        var line = text.Split('\n', 2)[0].TrimEnd('\r');
        if (line.Length == 0)
        {
            throw new KafkaSecurityException(setting, $"'{path}' is empty");
        }
        return line;
    }
}
