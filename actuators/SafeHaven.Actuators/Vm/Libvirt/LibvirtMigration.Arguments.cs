using System.Globalization;
using System.Text.RegularExpressions;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>What <c>virsh migrate</c> is given: checked migration URIs and the argument list.</summary>
internal static partial class LibvirtMigration
{
    /// <summary>Throws unless <paramref name="uri"/> is null, <c>tcp://HOST</c>, <c>tcp://HOST:PORT</c> or <c>unix:///PATH</c>.</summary>
    public static void RequireMigrateUri(string? uri)
    {
        if (uri is null)
        {
            return;
        }
        var m = MigrateUri().Match(uri);
        var ok = m.Success && (m.Groups["path"].Success
            ? m.Groups["path"].Value.Length <= 107 && !m.Groups["path"].Value.Split('/').Contains("..")
            : Identifiers.IsToken(m.Groups["host"].Value)
                && (!m.Groups["port"].Success || int.Parse(m.Groups["port"].Value, CultureInfo.InvariantCulture) is >= 1 and <= 65535));
        if (!ok)
        {
            throw new ArgumentException($"migrate uri '{Identifiers.Printable(uri, 120)}' is not tcp://HOST, tcp://HOST:PORT or unix:///PATH", nameof(uri));
        }
    }

    /// <summary>The <c>virsh migrate</c> arguments (after the connection URI) for a guest that is already validated.</summary>
    internal static List<string> MigrateArguments(string name, string destinationUri, string destXmlPath, string? migrateUri, MigrationOptions options)
    {
        // No --persistent: libvirt would write the destination's definition between post-copy's start and the
        // destination's resume (≈15 ms more downtime here); MovePersistenceAsync does it after verification.
        List<string> args = ["migrate", "--live", "--p2p", "--bandwidth", Mib(options.PrecopyBandwidth), "--xml", destXmlPath];
        if (options.Postcopy)
        {
            args.AddRange(["--postcopy", "--postcopy-bandwidth", Mib(options.MaxBandwidthBytesPerSecond)]);
        }
        if (migrateUri is not null)
        {
            args.AddRange(["--migrateuri", migrateUri]);
        }
        args.AddRange([name, destinationUri]);
        return args;
    }

    // libvirt takes MiB/s (at least 1); MigrationOptions speaks bytes/s.
    private static string Mib(long bytesPerSecond) => Math.Max(1, bytesPerSecond >> 20).ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(tcp://(?<host>[A-Za-z0-9._-]{1,63})(:(?<port>\d{1,5}))?|unix://(?<path>/[A-Za-z0-9._/-]+))\z", RegexOptions.CultureInvariant)]
    private static partial Regex MigrateUri();
}
