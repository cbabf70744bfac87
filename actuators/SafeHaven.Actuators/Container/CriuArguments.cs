using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// The argument lists of every criu run, built from validated parts only: pids through
/// <see cref="Identifiers.RequirePid"/>, paths through <see cref="RequireSafePath"/>, ports by range. They go
/// into <see cref="System.Diagnostics.ProcessStartInfo.ArgumentList"/>, never through a shell.
/// </summary>
public static class CriuArguments
{
    /// <summary>Log file names inside a work directory.</summary>
    public const string DumpLog = "dump.log", PageServerLog = "page-server.log", RestoreLog = "restore.log", LazyPagesLog = "lazy-pages.log";

    /// <summary>
    /// Throws unless <paramref name="path"/> is absolute, normalised (no <c>.</c>/<c>..</c> parts, no doubled
    /// '/'), free of control characters and at most 1024 characters: such a path cannot pass for an option or
    /// climb out of the directory it names.
    /// </summary>
    /// <exception cref="ArgumentException">Names <paramref name="what"/> and the problem.</exception>
    public static string RequireSafePath(string? path, string what)
    {
        if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Length > 1024 || path.Any(char.IsControl)
            || path.Contains("//", StringComparison.Ordinal) || (path.Length > 1 && path.EndsWith('/'))
            || path.Split('/').Any(part => part is "." or ".."))
        {
            throw new ArgumentException($"{what}: '{Identifiers.Printable(path)}' must be a normalised absolute path without control characters", what);
        }
        return path;
    }

    /// <summary><c>criu check</c>: the kernel features a dump and restore need.</summary>
    public static IReadOnlyList<string> Check() => ["check"];

    /// <summary><c>criu check --feature NAME</c> for one optional feature (e.g. <c>uffd-noncoop</c> for lazy pages).</summary>
    public static IReadOnlyList<string> CheckFeature(string feature) =>
        ["check", "--feature", Identifiers.RequireToken(feature, nameof(feature))];

    /// <summary>
    /// <c>criu dump</c> of the tree rooted at <paramref name="initPid"/> (a PID-namespace init, which makes criu
    /// dump its pid, mount, UTS and IPC namespaces with it). The tree is left stopped, not killed: only a
    /// restore verified at the target may end it, and any failure resumes it. Pages go to the page server at
    /// <paramref name="address"/>:<paramref name="port"/>, or with <paramref name="lazy"/> stay here and are
    /// served from that port on demand.
    /// </summary>
    public static IReadOnlyList<string> Dump(int initPid, string imagesDir, string address, int port, bool lazy, int logLevel)
    {
        List<string> args =
        [
            "dump", "--tree", Pid(initPid), .. Dirs(imagesDir), "--log-file", DumpLog, Verbosity(logLevel),
            // The session leader is the container's own init (setsid), so no --shell-job; no socket leaves the
            // container, so no --ext-unix-sk or --tcp-established.
            "--leave-stopped",
        ];
        args.AddRange(lazy ? ["--lazy-pages"] : ["--page-server"]);
        args.AddRange(["--address", Address(address), "--port", Port(port)]);
        return args;
    }

    /// <summary><c>criu page-server</c> receiving pages into <paramref name="imagesDir"/>; returns once listening.</summary>
    public static IReadOnlyList<string> PageServer(string imagesDir, string address, int port, string pidFile, int logLevel) =>
    [
        "page-server", .. Dirs(imagesDir), "--address", Address(address), "--port", Port(port),
        "--daemon", "--pidfile", RequireSafePath(pidFile, nameof(pidFile)), "--log-file", PageServerLog, Verbosity(logLevel),
    ];

    /// <summary>
    /// <c>criu restore</c> of <paramref name="imagesDir"/>, detached, root pid written to <paramref name="pidFile"/>.
    /// <c>--root /</c>: a container here shares the host's root file system, and its restored mount namespace
    /// is rebuilt on that root (criu needs a root to restore a mount namespace at all).
    /// </summary>
    public static IReadOnlyList<string> Restore(string imagesDir, string pidFile, bool lazy, int logLevel)
    {
        List<string> args =
        [
            "restore", .. Dirs(imagesDir), "--restore-detached", "--pidfile", RequireSafePath(pidFile, nameof(pidFile)),
            "--root", "/", "--log-file", RestoreLog, Verbosity(logLevel),
        ];
        if (lazy)
        {
            args.Add("--lazy-pages");
        }
        return args;
    }

    /// <summary><c>criu lazy-pages</c>: the target's daemon that fetches pages from the dumping source on demand.</summary>
    public static IReadOnlyList<string> LazyPages(string imagesDir, string address, int port, string pidFile, int logLevel) =>
    [
        "lazy-pages", .. Dirs(imagesDir), "--page-server", "--address", Address(address), "--port", Port(port),
        "--daemon", "--pidfile", RequireSafePath(pidFile, nameof(pidFile)), "--log-file", LazyPagesLog, Verbosity(logLevel),
    ];

    /// <summary>
    /// The container launcher: <c>unshare</c> new PID (with its own /proc), mount, UTS and IPC namespaces, then
    /// <c>setsid</c> so the init leads its session, then a fixed bash script that points stdio at
    /// <paramref name="logFile"/> (opened inside the new mount namespace, where criu can find it again) and
    /// closes every other inherited descriptor, then execs <paramref name="command"/>. Values reach the
    /// script as positional arguments only, never as script text.
    /// </summary>
    public static IReadOnlyList<string> Launch(CriuOptions options, string logFile, IReadOnlyList<string> command)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(command);
        if (command.Count == 0 || command.Any(a => a is null || a.Contains('\0', StringComparison.Ordinal)))
        {
            throw new ArgumentException("command must be a non-empty argument list without NUL characters", nameof(command));
        }
        RequireSafePath(command[0], "command[0]");
        return
        [
            "--pid", "--fork", "--mount-proc", "--uts", "--ipc", "--",
            RequireSafePath(options.Setsid, nameof(options.Setsid)), RequireSafePath(options.Bash, nameof(options.Bash)), "-c", LaunchScript, "safehaven-init",
            RequireSafePath(logFile, nameof(logFile)), .. command,
        ];
    }

    // Descriptors inherited from the agent (its own stdio, whatever its parent leaked) would point into the
    // host's mount namespace, and criu refuses to dump a file it cannot find inside the container's.
    internal const string LaunchScript = """
        exec </dev/null >>"$1" 2>&1
        shift
        for f in /proc/self/fd/*; do n=${f##*/}; if (( n > 2 )); then exec {n}>&-; fi; done
        exec "$@"
        """;

    private static string[] Dirs(string imagesDir)
    {
        RequireSafePath(imagesDir, nameof(imagesDir));
        return ["--images-dir", imagesDir, "--work-dir", imagesDir];
    }

    private static string Pid(int pid) => Identifiers.RequirePid(pid, "pid").ToString(CultureInfo.InvariantCulture);

    private static string Port(int port) => port is >= 1 and <= 65535
        ? port.ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentException($"port {port} is outside 1..65535", nameof(port));

    private static string Address(string address) => System.Net.IPAddress.TryParse(address, out var ip) && ip.ToString() == address
        ? address
        : throw new ArgumentException($"address '{Identifiers.Printable(address)}' is not a literal IP address", nameof(address));

    private static string Verbosity(int level) => level is >= 0 and <= 4
        ? "-v" + level.ToString(CultureInfo.InvariantCulture)
        : throw new ArgumentException($"log level {level} is outside 0..4", nameof(level));
}
