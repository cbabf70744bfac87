using System.Diagnostics;
using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// Moves a container between two agents with CRIU. The target half (<see cref="ReceiveAsync"/>) starts a
/// <c>criu page-server</c> and waits; the source half (<see cref="SendAsync"/>) freezes the tree and dumps it with
/// <c>--page-server</c>, so memory streams straight into the target's image directory, then hands over the
/// small remaining images; the target restores, verifies and answers; the source then ends its stopped copy,
/// or resumes it on any failure before that. The halves meet through <see cref="Handoff"/> files in the
/// target's directory, so each agent can run its own half on its own command.
/// </summary>
public static partial class ContainerMigrator
{
    /// <summary>Runs both halves here, between two agent directories of this machine, and merges what they measured.</summary>
    /// <param name="source">The agent the container runs at.</param>
    /// <param name="target">The agent to move it to.</param>
    /// <param name="name">The container.</param>
    /// <param name="options">criu and limits (validated here).</param>
    /// <param name="ct">Aborts the waits; a source that gives up before the target decided resumes its copy.</param>
    public static async Task<ContainerMigrationResult> MigrateAsync(ContainerSite source, ContainerSite target, string name,
        CriuOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        var moveId = "move-" + Guid.NewGuid().ToString("N")[..16];
        var receive = Task.Run(() => ReceiveAsync(target, source.AgentId, name, moveId, options, ct), ct);
        var send = Task.Run(() => SendAsync(source, target, name, moveId, options, ct), ct);
        var (s, r) = (await send.ConfigureAwait(false), await receive.ConfigureAwait(false));
        var phases = new Dictionary<string, long>(s.PhasesNs);
        foreach (var (phase, ns) in r.PhasesNs)
        {
            phases[phase] = ns;
        }
        string? error = (s.Error, r.Error) switch
        {
            (null, null) => null,
            (null, var e) => e,
            (var e, null) => e,
            var (es, er) => es.Contains(er, StringComparison.Ordinal) ? es : $"{es}; target: {er}",
        };
        return new ContainerMigrationResult
        {
            Succeeded = s.Succeeded && r.Succeeded, Error = error, ContainerAt = s.ContainerAt,
            InitPid = s.Succeeded ? r.InitPid : s.InitPid, PhasesNs = phases, TotalNs = s.TotalNs, Mode = options.Mode,
            DowntimeNs = s.FrozenAt is { } frozen && r.RestoredAt is { } restored ? Ns(frozen, restored) : null,
            PageBytes = r.PageBytes, MetadataBytes = s.MetadataBytes, Heartbeats = r.Heartbeats,
        };
    }

    private static ContainerMigrationResult Failed(string at, string error, Dictionary<string, long> phases, CriuPageMode mode, int? initPid = null) =>
        new() { ContainerAt = at, Error = error, PhasesNs = phases, Mode = mode, InitPid = initPid };

    private static long Ns(long from) => (long)(Stopwatch.GetElapsedTime(from).Ticks * 100);

    private static long Ns(long from, long to) => (long)(Stopwatch.GetElapsedTime(from, to).Ticks * 100);

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";

    private static void Validate(string name, CriuOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Identifiers.RequireLongToken(name, nameof(name));
    }

    // Ports in the configured range that nothing listens on, from a random start so concurrent moves spread out.
    private static IEnumerable<int> FreePorts(CriuOptions options)
    {
        var count = options.PortMax - options.PortMin + 1;
        var first = Random.Shared.Next(count);
        for (var i = 0; i < count; i++)
        {
            var port = options.PortMin + ((first + i) % count);
            if (!TcpListening(port))
            {
                yield return port;
            }
        }
    }

    /// <summary>True when a socket listens on TCP <paramref name="port"/> (any address), per /proc/net/tcp and tcp6.</summary>
    internal static bool TcpListening(int port) => TcpListeners(port).Count > 0;

    /// <summary>
    /// True when <paramref name="pid"/> itself holds a socket that listens on TCP <paramref name="port"/>: only
    /// that process, not whatever else may have bound the port, answers there.
    /// </summary>
    internal static bool ListensOn(int pid, int port)
    {
        var sockets = TcpListeners(port).Select(inode => $"socket:[{inode}]").ToHashSet(StringComparer.Ordinal);
        if (sockets.Count == 0)
        {
            return false;
        }
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/fd")
                .Any(fd => new FileInfo(fd).LinkTarget is { } target && sockets.Contains(target));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone, or its descriptors closed meanwhile.
            return false;
        }
    }

    // The inodes of the sockets listening on the port (state 0A), from /proc/net/tcp and tcp6.
    private static List<string> TcpListeners(int port)
    {
        var hex = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        var inodes = new List<string>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            try
            {
                foreach (var line in File.ReadLines(table).Skip(1))
                {
                    var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (f.Length > 9 && f[1].EndsWith(hex, StringComparison.Ordinal) && f[3] == "0A")
                    {
                        inodes.Add(f[9]);
                    }
                }
            }
            catch (IOException)
            {
                // No IPv6 table on this kernel.
            }
        }
        return inodes;
    }

    /// <summary>Best effort: what is left on disk after a move must not turn its result into an exception.</summary>
    internal static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next move of this container, which wipes it first.
        }
    }

    private static int? ReadPid(string pidFile)
    {
        try
        {
            return int.TryParse(File.ReadAllText(pidFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0 ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
