using System.Globalization;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Agent;

/// <summary>What the journal kept of a command that started: enough to find the real state after a crash.</summary>
/// <param name="CommandId">The command.</param>
/// <param name="Level">Its level.</param>
/// <param name="Action">Its action.</param>
/// <param name="Pid">The process moved (core level), or null.</param>
/// <param name="StartTime">That process's start time, or null.</param>
/// <param name="Source">The source agent.</param>
/// <param name="Target">CPU list (core level) or target agent id.</param>
/// <param name="Vm">The VM moved (vm level), or null.</param>
/// <param name="Container">The container moved (container level), or null.</param>
public sealed record JournalEntry(string CommandId, string Level, string Action, int? Pid, long? StartTime,
    string Source, string Target, string? Vm, string? Container);

/// <summary>
/// The commands an actuator started and finished, in an append-only file, so that a command
/// redelivered after a restart is recognised as a duplicate and never runs twice, and a move cut
/// short by a crash is found again and reconciled from the real state.
/// Lines: <c>start TAB id TAB level TAB action TAB pid TAB starttime TAB source TAB target TAB vm TAB container</c>
/// and <c>done TAB id TAB status</c> (also for a command answered without starting, e.g. expired); every field
/// is validated, a torn last line is dropped on load, and a bare id (the first format) counts as finished.
/// </summary>
public sealed class CommandJournal : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly Dictionary<string, JournalEntry> _unfinished;

    private CommandJournal(StreamWriter writer, IReadOnlyList<string> executed, Dictionary<string, JournalEntry> unfinished,
        IReadOnlyDictionary<string, string> outcomes)
    {
        _writer = writer;
        Executed = executed;
        _unfinished = unfinished;
        Outcomes = outcomes;
    }

    /// <summary>The published status of every finished command found on open, by command id.</summary>
    public IReadOnlyDictionary<string, string> Outcomes { get; }

    /// <summary>The ids of every command started before this instance was opened, oldest first.</summary>
    public IReadOnlyList<string> Executed { get; }

    /// <summary>Commands that started and have no result on record: a crash cut them short.</summary>
    public IReadOnlyCollection<JournalEntry> Unfinished => _unfinished.Values;

    /// <summary>Opens (or creates) the journal at <paramref name="path"/>, mode 0600.</summary>
    public static CommandJournal Open(string path)
    {
        // The journal decides what never runs again: nobody else may replace it.
        PrivateDirectory.Ensure(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var executed = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var unfinished = new Dictionary<string, JournalEntry>(StringComparer.Ordinal);
        var outcomes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path);
            var complete = text[..(text.LastIndexOf('\n') + 1)];
            foreach (var line in complete.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Load(line, executed, seen, unfinished, outcomes);
            }
            if (complete.Length < text.Length)
            {
                // Drop a torn last line (a crash mid-write): a partial id must not count as
                // executed, or "c-12" torn from "c-123" would shadow a future command "c-12".
                using var fix = new FileStream(path, FileMode.Open, FileAccess.Write);
                fix.SetLength(System.Text.Encoding.UTF8.GetByteCount(complete));
            }
        }
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        var stream = new FileStream(path, options);
        return new CommandJournal(new StreamWriter(stream) { AutoFlush = false }, executed, unfinished, outcomes);
    }

    private static void Load(string line, List<string> order, HashSet<string> executed, Dictionary<string, JournalEntry> unfinished,
        Dictionary<string, string> outcomes)
    {
        var f = line.Split('\t');
        if (f.Length == 1 && Identifiers.IsId(f[0]))
        {
            if (executed.Add(f[0]))
            {
                order.Add(f[0]);
            }
        }
        else if (f.Length == 10 && f[0] == "start" && Identifiers.IsId(f[1]) && Parse(f) is { } entry)
        {
            if (executed.Add(f[1]))
            {
                order.Add(f[1]);
            }
            unfinished[f[1]] = entry;
        }
        else if (f.Length == 3 && f[0] == "done")
        {
            unfinished.Remove(f[1]);
            if (Identifiers.IsId(f[1]) && Identifiers.IsToken(f[2]))
            {
                if (executed.Add(f[1]))
                {
                    // Answered without starting (an expired copy): never to be run either.
                    order.Add(f[1]);
                }
                outcomes[f[1]] = f[2];
            }
        }
    }

    private static JournalEntry? Parse(string[] f)
    {
        static string? Opt(string v) => v == "-" ? null : v;
        int? pid = Opt(f[4]) is { } p && int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        long? start = Opt(f[5]) is { } s && long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : null;
        var entry = new JournalEntry(f[1], f[2], f[3], pid, start, f[6], f[7], Opt(f[8]), Opt(f[9]));
        return Valid(entry) ? entry : null;
    }

    // Everything written or read back is a plain token: a field can never smuggle a tab or newline
    // into the file, nor a path component into the reconciliation that reads it.
    private static bool Valid(JournalEntry e) =>
        Identifiers.IsId(e.CommandId) && Levels.All.Contains(e.Level) && Identifiers.IsToken(e.Action) && Identifiers.IsToken(e.Source)
        && (CpuList.TryParse(e.Target, out _, out _) || Identifiers.IsToken(e.Target))
        && (e.Vm is null || Identifiers.IsLongToken(e.Vm)) && (e.Container is null || Identifiers.IsLongToken(e.Container));

    /// <summary>
    /// Records that <paramref name="cmd"/> starts now, written through to the kernel before the move begins, so the
    /// agent's own crash never loses it. Container and VM moves are also synced to the disk: their outcome (a workload
    /// on another host) outlives a crash of this host. Host-level moves (smt, core, llc, numa) are not: they change
    /// processes that a crash of the host ends, and a redelivered command after a reboot is past its deadline, so a
    /// start line lost with the host guards nothing, while the sync sits on the critical path of every core move (the
    /// journal's two synced lines were 1.4 ms of the gate's 1.75 ms in docs/PERFORMANCE.md "other hops").
    /// </summary>
    /// <exception cref="ArgumentException">A field is not a plain token.</exception>
    public void Started(IsolationCommand cmd)
    {
        ArgumentNullException.ThrowIfNull(cmd);
        var entry = new JournalEntry(cmd.commandId ?? "", cmd.level ?? "", cmd.action ?? "", cmd.entity?.pid, cmd.entity?.startTime,
            cmd.source ?? "", cmd.target ?? "", cmd.entity?.vm, cmd.entity?.container);
        if (!Valid(entry))
        {
            throw new ArgumentException($"command '{entry.CommandId}' has a field that cannot be journalled", nameof(cmd));
        }
        static string Opt(object? v) => v is null ? "-" : Convert.ToString(v, CultureInfo.InvariantCulture)!;
        Write(string.Join('\t', "start", entry.CommandId, entry.Level, entry.Action, Opt(entry.Pid), Opt(entry.StartTime),
            entry.Source, entry.Target, Opt(entry.Vm), Opt(entry.Container)), Durable(entry.Level));
        _unfinished[entry.CommandId] = entry;
    }

    /// <summary>Records that <paramref name="commandId"/> was answered with <paramref name="status"/> without starting (e.g. expired).</summary>
    public void Answered(string commandId, string status)
    {
        Identifiers.RequireId(commandId, nameof(commandId));
        Identifiers.RequireToken(status, nameof(status));
        Write($"done\t{commandId}\t{status}", durable: true);
    }

    /// <summary>Records that the result of <paramref name="commandId"/> was published (synced to the disk as its start was).</summary>
    public void Finished(string commandId, string status)
    {
        Identifiers.RequireId(commandId, nameof(commandId));
        Identifiers.RequireToken(status, nameof(status));
        if (_unfinished.Remove(commandId, out var entry))
        {
            Write($"done\t{commandId}\t{status}", Durable(entry.Level));
        }
    }

    /// <summary>Whether a command of <paramref name="level"/> is synced to the disk (see <see cref="Started"/>).</summary>
    public static bool Durable(string level) => !Levels.OnHost.Contains(level);

    private void Write(string line, bool durable)
    {
        _writer.Write(line);
        _writer.Write('\n');
        // Into the kernel's page cache: survives the agent's crash (kill -9), not the host's.
        _writer.Flush();
        if (durable)
        {
            ((FileStream)_writer.BaseStream).Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();
}
