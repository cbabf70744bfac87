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
            var complete = text.EndsWith('\n') ? text : text[..(text.LastIndexOf('\n') + 1)];
            executed.AddRange(complete.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(Identifiers.IsId));
        }
        var options = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.Read };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        var stream = new FileStream(path, options);
        if (stream.Length > 0 && !File.ReadAllText(path).EndsWith('\n'))
        {
            // Terminate a torn line so the next id starts on its own line.
            stream.WriteByte((byte)'\n');
        }
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
