using System.Runtime.InteropServices;

namespace SafeHaven.Kafka.Embedded;

/// <summary>
/// Points this assembly's <c>librdkafka</c> imports at the file Confluent.Kafka loaded.
/// Confluent probes several builds (the default one needs libsasl2 and falls back to
/// <c>centos8-librdkafka.so</c>), so the only reliable answer is what is actually mapped.
/// </summary>
internal static class NativeLoader
{
    private static readonly Lazy<string> LoadedPath = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads librdkafka through Confluent.Kafka (once) and returns the file in use.</summary>
    internal static string EnsureLoaded() => LoadedPath.Value;

    private static string Install()
    {
        // Touching Library.Version makes Confluent.Kafka run its own loader.
        _ = Confluent.Kafka.Library.Version;
        var path = FindMappedLibrdkafka()
            ?? throw new DllNotFoundException(
                "Confluent.Kafka reports librdkafka loaded, but no librdkafka file is mapped in /proc/self/maps; " +
                "the embedded broker needs Linux and the librdkafka shipped with Confluent.Kafka.");

        NativeLibrary.SetDllImportResolver(
            typeof(NativeLoader).Assembly,
            (libraryName, _, _) => libraryName == LibRdKafka.Name ? NativeLibrary.Load(path) : IntPtr.Zero);
        return path;
    }

    private static string? FindMappedLibrdkafka()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return null;
        }

        foreach (var line in File.ReadLines(maps))
        {
            // Format: address perms offset dev inode [path]; the path is the only field starting with '/'.
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0 || line.EndsWith("(deleted)", StringComparison.Ordinal))
            {
                continue;
            }

            var path = line[slash..].Trim();
            if (Path.GetFileName(path).Contains("librdkafka", StringComparison.Ordinal))
            {
                return path;
            }
        }

        return null;
    }
}
