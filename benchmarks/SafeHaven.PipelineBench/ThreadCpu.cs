using System.Globalization;

namespace SafeHaven.PipelineBench;

/// <summary>CPU time of single threads from /proc (schedstat: nanoseconds on a CPU), Linux only.</summary>
internal static class ThreadCpu
{
    /// <summary>Nanoseconds the calling thread has run.</summary>
    public static long CurrentNs() => Read("/proc/thread-self/schedstat");

    /// <summary>
    /// Nanoseconds run by this process's live threads whose name starts with <paramref name="prefix"/> (cut to the
    /// kernel's 15 characters): Streamiz names its stream threads after the application id.
    /// </summary>
    public static long OfThreadsNamedNs(string prefix)
    {
        var name = prefix.Length > 15 ? prefix[..15] : prefix;
        long total = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Join(task, "comm")).StartsWith(name, StringComparison.Ordinal))
                {
                    total += Read(Path.Join(task, "schedstat"));
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }
        return total;
    }

    private static long Read(string path) =>
        long.Parse(File.ReadAllText(path).Split(' ')[0], CultureInfo.InvariantCulture);
}
