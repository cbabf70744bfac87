using System.Text.RegularExpressions;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>
/// A libvirt connection URI from an allow-list, so that nothing else can reach virsh's <c>-c</c> or a
/// migration's destination argument: <c>qemu:///system</c>, <c>qemu+unix:///system?socket=/ABS/PATH</c>
/// (a private daemon; also what <c>--p2p</c> needs between two daemons of one machine, which refuse a plain
/// <c>qemu:///</c> destination as "same host"), and <c>qemu+tls://HOST/system</c> or
/// <c>qemu+ssh://HOST/system</c> for another machine.
/// </summary>
public sealed partial record LibvirtUri
{
    /// <summary>The system daemon of this machine.</summary>
    public static readonly LibvirtUri LocalSystem = new("qemu:///system");

    // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    private const int MaxSocketPath = 107;

    private LibvirtUri(string value) => Value = value;

    /// <summary>The URI as handed to virsh.</summary>
    public string Value { get; }

    /// <summary>The daemon listening on the unix socket <paramref name="socketPath"/>.</summary>
    /// <exception cref="ArgumentException">The path is not absolute, too long, or has characters outside <c>[A-Za-z0-9._/-]</c>.</exception>
    public static LibvirtUri ForSocket(string socketPath)
    {
        // Restrictive on purpose: the path becomes part of a URI query, where '&', '?', '#', '%' and ' ' mean something.
        if (string.IsNullOrEmpty(socketPath) || socketPath.Length > MaxSocketPath || !SocketPath().IsMatch(socketPath)
            || socketPath.Contains("/../", StringComparison.Ordinal) || socketPath.EndsWith("/..", StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"libvirt socket '{Identifiers.Printable(socketPath, 120)}' must be an absolute path of [A-Za-z0-9._/-] without '..', at most {MaxSocketPath} characters",
                nameof(socketPath));
        }
        return new LibvirtUri($"qemu+unix:///system?socket={socketPath}");
    }

    /// <summary>The system daemon of <paramref name="host"/>, reached over TLS (<c>qemu+tls</c>) or SSH (<c>qemu+ssh</c>).</summary>
    /// <exception cref="ArgumentException">Unknown transport or an invalid host name.</exception>
    public static LibvirtUri ForHost(string transport, string host)
    {
        if (transport is not ("tls" or "ssh"))
        {
            throw new ArgumentException($"transport '{Identifiers.Printable(transport, 120)}' is not tls or ssh", nameof(transport));
        }
        Identifiers.RequireToken(host, nameof(host));
        return new LibvirtUri($"qemu+{transport}://{host}/system");
    }

    /// <summary>Accepts exactly the forms this type can build, nothing else.</summary>
    /// <exception cref="ArgumentException">The URI is not on the allow-list.</exception>
    public static LibvirtUri Parse(string? uri)
    {
        if (uri == LocalSystem.Value)
        {
            return LocalSystem;
        }
        const string unixPrefix = "qemu+unix:///system?socket=";
        if (uri is not null && uri.StartsWith(unixPrefix, StringComparison.Ordinal))
        {
            return ForSocket(uri[unixPrefix.Length..]);
        }
        var remote = uri is null ? null : Remote().Match(uri);
        if (remote is { Success: true } && Identifiers.IsToken(remote.Groups[2].Value))
        {
            return ForHost(remote.Groups[1].Value, remote.Groups[2].Value);
        }
        throw new ArgumentException(
            $"libvirt URI '{Identifiers.Printable(uri, 120)}' is not qemu:///system, qemu+unix:///system?socket=/PATH, qemu+tls://HOST/system or qemu+ssh://HOST/system",
            nameof(uri));
    }

    /// <inheritdoc/>
    public override string ToString() => Value;

    [GeneratedRegex("^/[A-Za-z0-9._/-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex SocketPath();

    [GeneratedRegex("^qemu\\+(tls|ssh)://([^/]+)/system\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Remote();
}
