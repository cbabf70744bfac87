using SafeHaven.Core;

namespace SafeHaven.Actuators;

/// <summary>
/// The ids of the commands an actuator executed, kept in an append-only file so that a command
/// redelivered after a restart is still recognised as a duplicate and never runs twice.
/// One validated id per line; a torn last line (crash mid-write) is ignored on load.
/// </summary>
public sealed class CommandJournal : IDisposable
{
    private readonly StreamWriter _writer;

    private CommandJournal(StreamWriter writer, IReadOnlyList<string> executed)
    {
        _writer = writer;
        Executed = executed;
    }

    /// <summary>The ids found in the file when it was opened, oldest first.</summary>
    public IReadOnlyList<string> Executed { get; }

    /// <summary>Opens (or creates) the journal at <paramref name="path"/>, mode 0600.</summary>
    public static CommandJournal Open(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var executed = new List<string>();
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path);
            var complete = text[..(text.LastIndexOf('\n') + 1)];
            executed.AddRange(complete.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(Identifiers.IsId));
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
        return new CommandJournal(new StreamWriter(stream) { AutoFlush = false }, executed);
    }

    /// <summary>Records an executed command id durably (flushed to the OS before the result is sent).</summary>
    public void Append(string commandId)
    {
        Identifiers.RequireId(commandId, nameof(commandId));
        _writer.Write(commandId);
        _writer.Write('\n');
        _writer.Flush();
        ((FileStream)_writer.BaseStream).Flush(flushToDisk: true);
    }

    /// <inheritdoc/>
    public void Dispose() => _writer.Dispose();
}
