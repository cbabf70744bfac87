using System.Text;
using SafeHaven.Core;

namespace SafeHaven.Probes.Proc;

/// <summary>What a QEMU command line says about its guest.</summary>
/// <param name="Name">The VM name (a valid long token), or null when absent or invalid.</param>
/// <param name="Uuid">The <c>-uuid</c> value in canonical lower-case form, or null.</param>
/// <param name="Note">Why <paramref name="Name"/> is null, or null when it is set.</param>
public sealed record QemuGuest(string? Name, string? Uuid, string? Note)
{
    /// <summary>Guest RAM from <c>-m</c> in MiB (QEMU's default 128 when absent), or null when unreadable.</summary>
    public long? MemoryMiB { get; init; }
}

/// <summary>
/// Recognises QEMU/KVM processes from their <c>/proc/PID/cmdline</c> (argv, NUL-separated; never
/// a shell string) and extracts the guest name (<c>-name NAME</c>, <c>-name guest=NAME,...</c> as
/// libvirt passes it) and <c>-uuid</c>.
/// </summary>
public static class QemuCommandLine
{
    /// <summary>Splits the raw bytes of a cmdline file into arguments; the kernel ends each one with a NUL.</summary>
    public static IReadOnlyList<string> SplitArgs(ReadOnlySpan<byte> cmdline)
    {
        var args = new List<string>();
        while (!cmdline.IsEmpty)
        {
            int nul = cmdline.IndexOf((byte)0);
            var arg = nul < 0 ? cmdline : cmdline[..nul];
            args.Add(Encoding.UTF8.GetString(arg));
            cmdline = nul < 0 ? [] : cmdline[(nul + 1)..];
        }
        return args;
    }

    /// <summary>True when argv[0] names a QEMU system emulator (<c>qemu-system-*</c>, <c>qemu-kvm</c>).</summary>
    public static bool IsQemu(IReadOnlyList<string> argv)
    {
        ArgumentNullException.ThrowIfNull(argv);
        if (argv.Count == 0)
        {
            return false;
        }
        string exe = Path.GetFileName(argv[0]);
        return (exe.StartsWith("qemu-system-", StringComparison.Ordinal) && exe.Length > "qemu-system-".Length)
            || exe == "qemu-kvm";
    }

    /// <summary>The guest described by <paramref name="argv"/>, or null when it is not a QEMU process.</summary>
    public static QemuGuest? Parse(IReadOnlyList<string> argv)
    {
        if (!IsQemu(argv))
        {
            return null;
        }
        string? nameOpts = null;
        string? uuidArg = null;
        string? memArg = null;
        string? note = null;
        for (int i = 1; i < argv.Count; i++)
        {
            // QEMU accepts both -opt and --opt; as QEMU does, the last occurrence wins.
            string opt = argv[i].StartsWith("--", StringComparison.Ordinal) ? argv[i][1..] : argv[i];
            if (opt is not ("-name" or "-uuid" or "-m"))
            {
                continue;
            }
            if (i + 1 >= argv.Count)
            {
                note = $"{opt} without a value";
                break;
            }
            if (opt == "-name")
            {
                nameOpts = argv[++i];
            }
            else if (opt == "-m")
            {
                memArg = argv[++i];
            }
            else
            {
                uuidArg = argv[++i];
            }
        }
        string? uuid = uuidArg is not null && Guid.TryParseExact(uuidArg, "D", out var g) ? g.ToString("D") : null;
        if (uuidArg is not null && uuid is null)
        {
            note = $"-uuid '{Identifiers.Printable(uuidArg)}' is not a uuid";
        }
        var memory = memArg is null ? 128 : MemoryMiB(memArg);
        if (nameOpts is null)
        {
            return new QemuGuest(null, uuid, note ?? "qemu without -name") { MemoryMiB = memory };
        }
        string? name = GuestName(nameOpts);
        if (name is null)
        {
            return new QemuGuest(null, uuid, $"-name '{Identifiers.Printable(nameOpts)}' has no guest name");
        }
        // The name ends up in Kafka keys, commands and libvirt/QMP arguments downstream.
        return Identifiers.IsLongToken(name)
            ? new QemuGuest(name, uuid, null) { MemoryMiB = memory }
            : new QemuGuest(null, uuid, $"VM name '{Identifiers.Printable(name)}' is not a valid identifier") { MemoryMiB = memory };
    }

    /// <summary>
    /// MiB of a <c>-m</c> value: <c>2048</c>, <c>512M</c>, <c>2G</c>, <c>size=2G,slots=2,maxmem=8G</c>
    /// (no suffix means MiB, as in QEMU); null when it does not parse.
    /// </summary>
    public static long? MemoryMiB(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var size = value.Split(',').Select(p => p.StartsWith("size=", StringComparison.Ordinal) ? p[5..] : p)
            .FirstOrDefault(p => !p.Contains('=', StringComparison.Ordinal));
        if (string.IsNullOrEmpty(size))
        {
            return null;
        }
        var unit = char.ToUpperInvariant(size[^1]);
        var digits = char.IsDigit(size[^1]) ? size : size[..^1];
        if (!long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n > 1L << 40)
        {
            return null;
        }
        return unit switch
        {
            'K' => n / 1024,
            'M' => n,
            'G' => n * 1024,
            'T' => n * 1024 * 1024,
            _ when char.IsDigit(unit) => n,
            _ => null,
        };
    }

    /// <summary>
    /// The guest name in a QemuOpts string with <c>guest</c> as its implied key:
    /// <c>NAME[,process=P][,debug-threads=on]</c> or <c>guest=NAME,...</c>. A doubled comma is
    /// QemuOpts' escape for a literal comma.
    /// </summary>
    internal static string? GuestName(string opts)
    {
        string? guest = null;
        bool first = true;
        foreach (string item in SplitOpts(opts))
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (first && eq < 0)
            {
                guest = item;
            }
            else if (eq >= 0 && item.AsSpan(0, eq).SequenceEqual("guest"))
            {
                guest = item[(eq + 1)..];
            }
            first = false;
        }
        return string.IsNullOrEmpty(guest) ? null : guest;
    }

    private static List<string> SplitOpts(string opts)
    {
        var items = new List<string>();
        var current = new StringBuilder();
        for (int i = 0; i < opts.Length; i++)
        {
            if (opts[i] != ',')
            {
                current.Append(opts[i]);
            }
            else if (i + 1 < opts.Length && opts[i + 1] == ',')
            {
                current.Append(',');
                i++;
            }
            else
            {
                items.Add(current.ToString());
                current.Clear();
            }
        }
        items.Add(current.ToString());
        return items;
    }
}
