using System.Text.Json;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// One container agent's state directory: <c>containers/NAME.json</c> registers each container it runs (with
/// <c>NAME.log</c> beside it), <c>outgoing/NAME/</c> holds the images a dump leaves here, and
/// <c>incoming/NAME/</c> is where a move into this agent meets its source (see <see cref="ContainerMigrator"/>).
/// </summary>
public sealed class ContainerSite
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>A site for agent <paramref name="agentId"/> rooted at <paramref name="root"/> (created 0700 on first use).</summary>
    /// <exception cref="ArgumentException">The id or the path is not safe.</exception>
    public ContainerSite(string agentId, string root)
    {
        AgentId = Identifiers.RequireToken(agentId, nameof(agentId));
        Root = CriuArguments.RequireSafePath(root, nameof(root));
        if (root.Length > 512)
        {
            throw new ArgumentException($"{nameof(root)} is longer than 512 characters", nameof(root));
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

    /// <summary>Registers (or replaces) <paramref name="record"/>, atomically.</summary>
    public void Save(ContainerRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        record.Validate();
        CreatePrivate(Containers);
        var path = EntryOf(record.Spec.Name);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(record));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The registered container <paramref name="name"/>, or null when this agent has none of that name.</summary>
    /// <exception cref="ArgumentException">The entry is not a valid record for <paramref name="name"/>.</exception>
    public ContainerRecord? Load(string name)
    {
        var path = EntryOf(name);
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
    public IReadOnlyList<string> Names() => !Directory.Exists(Containers) ? [] :
        [.. Directory.EnumerateFiles(Containers, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>().Where(Identifiers.IsLongToken).Order(StringComparer.Ordinal)];

    /// <summary>Unregisters <paramref name="name"/> (the processes are not touched).</summary>
    public void Remove(string name) => File.Delete(EntryOf(name));

    private string EntryOf(string name) => Path.Join(Containers, Identifiers.RequireLongToken(name, nameof(name)) + ".json");
}
