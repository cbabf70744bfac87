using System.Text.Json;
using SafeHaven.Actuators.Agent;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// One container agent's state directory: <c>containers/NAME.json</c> registers each container it runs (with
/// <c>NAME.log</c> beside it), <c>outgoing/NAME/</c> holds the images a dump leaves here, and
/// <c>incoming/NAME/</c> is where a move into this agent meets its source (see <see cref="ContainerMigrator"/>).
/// Nobody but the agent's user may write any of these directories (see <see cref="RequireTrusted"/>).
/// </summary>
public sealed class ContainerSite
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private volatile bool _trusted;

    /// <summary>A site for agent <paramref name="agentId"/> rooted at <paramref name="root"/> (created 0700 on first use).</summary>
    /// <exception cref="ArgumentException">The id or the path is not safe, or a directory of the site that exists is not trusted.</exception>
    public ContainerSite(string agentId, string root)
    {
        AgentId = Identifiers.RequireToken(agentId, nameof(agentId));
        Root = CriuArguments.RequireSafePath(root, nameof(root));
        if (root.Length > 512)
        {
            throw new ArgumentException($"{nameof(root)} is longer than 512 characters", nameof(root));
        }
        if (Untrusted() is { } problem)
        {
            throw new ArgumentException(problem, nameof(root));
        }
    }

    /// <summary>The agent this directory belongs to.</summary>
    public string AgentId { get; }

    /// <summary>The directory.</summary>
    public string Root { get; }

    /// <summary>Where the registry entries and logs live.</summary>
    public string Containers => Path.Join(Root, "containers");

    /// <summary>The meeting place of a move of <paramref name="name"/> into this agent.</summary>
    public string Incoming(string name) => Path.Join(Root, "incoming", Identifiers.RequireLongToken(name, nameof(name)));

    /// <summary>Where a dump of <paramref name="name"/> leaves its metadata images and log on this agent.</summary>
    public string Outgoing(string name) => Path.Join(Root, "outgoing", Identifiers.RequireLongToken(name, nameof(name)));

    /// <summary>The log file of container <paramref name="name"/>.</summary>
    public string LogOf(string name) => Path.Join(Containers, Identifiers.RequireLongToken(name, nameof(name)) + ".log");

    /// <summary>Creates <paramref name="dir"/> (and parents) private to root.</summary>
    public static string CreatePrivate(string dir)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("containers are run on Linux only");
        }
        Directory.CreateDirectory(dir, Private);
        return dir;
    }

    /// <summary>
    /// Throws unless the root and its <c>containers</c>, <c>incoming</c> and <c>outgoing</c> directories, those that
    /// exist, are directories of this process's effective user that neither group nor others may write. Checked
    /// again on each use until the root exists: once a trusted root exists, only its user can add or swap entries.
    /// </summary>
    /// <exception cref="InvalidOperationException">Names the directory and what is wrong with it.</exception>
    public void RequireTrusted()
    {
        if (Untrusted() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
    }

    /// <summary>Registers (or replaces) <paramref name="record"/>, atomically.</summary>
    /// <exception cref="InvalidOperationException">The site's directories are not trusted.</exception>
    public void Save(ContainerRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        record.Validate();
        CreatePrivate(Containers);
        // Checked after the creation too: a root someone else made meanwhile is refused before anything is written.
        RequireTrusted();
        var path = EntryOf(record.Spec.Name);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(record));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The registered container <paramref name="name"/>, or null when this agent has none of that name.</summary>
    /// <exception cref="ArgumentException">The entry is not a valid record for <paramref name="name"/>.</exception>
    /// <exception cref="InvalidOperationException">The site's directories are not trusted.</exception>
    public ContainerRecord? Load(string name)
    {
        var path = EntryOf(name);
        RequireTrusted();
        if (!File.Exists(path))
        {
            return null;
        }
        var record = JsonSerializer.Deserialize<ContainerRecord>(File.ReadAllText(path))
            ?? throw new ArgumentException($"{path} holds no container record");
        record.Validate();
        return record.Spec.Name == name ? record : throw new ArgumentException($"{path} describes '{record.Spec.Name}', not '{name}'");
    }

    /// <summary>Every registered container name.</summary>
    /// <exception cref="InvalidOperationException">The site's directories are not trusted.</exception>
    public IReadOnlyList<string> Names()
    {
        RequireTrusted();
        return !Directory.Exists(Containers) ? [] :
            [.. Directory.EnumerateFiles(Containers, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>().Where(Identifiers.IsLongToken).Order(StringComparer.Ordinal)];
    }

    /// <summary>Unregisters <paramref name="name"/> (the processes are not touched).</summary>
    /// <exception cref="InvalidOperationException">The site's directories are not trusted.</exception>
    public void Remove(string name)
    {
        var path = EntryOf(name);
        RequireTrusted();
        File.Delete(path);
    }

    private string? Untrusted()
    {
        if (_trusted)
        {
            return null;
        }
        foreach (var dir in new[] { Root, Containers, Path.Join(Root, "incoming"), Path.Join(Root, "outgoing") })
        {
            if (DirectoryTrust.Problem(dir) is { } problem)
            {
                return $"container agent '{AgentId}': state directory {dir} {problem}";
            }
        }
        _trusted = Directory.Exists(Root);
        return null;
    }

    private string EntryOf(string name) => Path.Join(Containers, Identifiers.RequireLongToken(name, nameof(name)) + ".json");
}
