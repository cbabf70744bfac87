using System.Text.Json;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// What a plain-QEMU guest is: enough for a destination to start its <c>-incoming</c> twin with the same
/// machine. Kept as <c>NAME.json</c> beside the guest's QMP socket, so the source agent can hand it over.
/// </summary>
public sealed record QemuGuestSpec
{
    /// <summary>VM name (a long token): names the process, the sockets and the files.</summary>
    public required string Name { get; init; }

    /// <summary>Guest RAM in MiB (64 .. 65536).</summary>
    public int MemoryMb { get; init; } = 128;

    /// <summary>Absolute path of the guest kernel.</summary>
    public required string Kernel { get; init; }

    /// <summary>Absolute path of the initramfs.</summary>
    public required string Initrd { get; init; }

    /// <summary>Kernel command line.</summary>
    public string Append { get; init; } = "console=ttyS0 quiet";

    /// <summary>Machine type; q35 and pc are accepted.</summary>
    public string Machine { get; init; } = "q35";

    /// <summary>Throws unless every field is safe to put into QEMU's argument list.</summary>
    /// <exception cref="ArgumentException">Names the field and the problem.</exception>
    public void Validate()
    {
        Identifiers.RequireLongToken(Name, nameof(Name));
        if (MemoryMb is < 64 or > 65536)
        {
            throw new ArgumentException($"{nameof(MemoryMb)} {MemoryMb} is outside 64..65536", nameof(MemoryMb));
        }
        QemuPaths.RequireOptionSafePath(Kernel, nameof(Kernel));
        QemuPaths.RequireOptionSafePath(Initrd, nameof(Initrd));
        // The command line is one argv element, so only control characters could do harm (in logs).
        if (Append.Length > 512 || Append.Any(char.IsControl))
        {
            throw new ArgumentException($"{nameof(Append)} must be printable and at most 512 characters", nameof(Append));
        }
        if (Machine is not ("q35" or "pc"))
        {
            throw new ArgumentException($"{nameof(Machine)} '{Machine}' is not q35 or pc", nameof(Machine));
        }
    }

    /// <summary>Writes the spec as <c>NAME.json</c> into <paramref name="directory"/>.</summary>
    public void Save(string directory) =>
        File.WriteAllText(QemuPaths.In(directory, Name, ".json"), JsonSerializer.Serialize(this));

    /// <summary>Reads and validates <c>NAME.json</c> from <paramref name="directory"/>; null when absent.</summary>
    /// <exception cref="ArgumentException">The file is not a valid spec for <paramref name="name"/>.</exception>
    public static QemuGuestSpec? Load(string directory, string name)
    {
        var path = QemuPaths.In(directory, name, ".json");
        if (!File.Exists(path))
        {
            return null;
        }
        var spec = JsonSerializer.Deserialize<QemuGuestSpec>(File.ReadAllText(path))
            ?? throw new ArgumentException($"{path} holds no guest spec");
        spec.Validate();
        return spec.Name == name ? spec : throw new ArgumentException($"{path} describes '{spec.Name}', not '{name}'");
    }
}

/// <summary>Paths handed to QEMU: validated so they cannot break out of an option string or a socket address.</summary>
public static class QemuPaths
{
    // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    private const int MaxSocketPath = 107;

    /// <summary>Throws unless <paramref name="path"/> is absolute, without ',' (QEMU's option separator) or control characters.</summary>
    /// <exception cref="ArgumentException">Names <paramref name="what"/> and the problem.</exception>
    public static string RequireOptionSafePath(string? path, string what)
    {
        if (string.IsNullOrEmpty(path) || !Path.IsPathRooted(path) || path.Contains(',', StringComparison.Ordinal)
            || path.Any(char.IsControl) || path.Length > 4096)
        {
            throw new ArgumentException($"{what}: '{path}' must be an absolute path without ',' or control characters", what);
        }
        return path;
    }

    /// <summary>
    /// <paramref name="directory"/>/<paramref name="name"/><paramref name="suffix"/> after validating both parts;
    /// short enough to be a unix socket address.
    /// </summary>
    public static string In(string directory, string name, string suffix)
    {
        RequireOptionSafePath(directory, nameof(directory));
        Identifiers.RequireLongToken(name, nameof(name));
        var path = Path.Join(directory, name + suffix);
        return path.Length <= MaxSocketPath ? path
            : throw new ArgumentException($"'{path}' is longer than a unix socket path may be ({MaxSocketPath})", nameof(directory));
    }
}
