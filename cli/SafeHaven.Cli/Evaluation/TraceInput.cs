using SafeHaven.Traces;

namespace SafeHaven.Cli.Evaluation;

/// <summary>Reads a trace for the offline verbs: a file that is missing, truncated, corrupt or of another schema is bad input (exit 2).</summary>
internal static class TraceInput
{
    /// <summary>Hands every entry of <paramref name="path"/> to <paramref name="each"/>, in file order.</summary>
    /// <exception cref="UsageException">The file cannot be read or is not a valid trace; the message says where.</exception>
    public static void ForEach(FileInfo path, Action<TraceEntry> each)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(each);
        if (!path.Exists)
        {
            throw new UsageException($"trace {path.FullName}: no such file");
        }
        try
        {
            using var reader = TraceReader.Open(path.FullName);
            foreach (var entry in reader)
            {
                each(entry);
            }
        }
        catch (TraceFormatException e)
        {
            throw new UsageException($"not a valid trace: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"trace {path.FullName}: cannot read: {e.Message}", e);
        }
    }
}
