using System.Text.Json.Serialization;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// What a container is on a host agent: one process tree started in its own PID (with its own /proc), mount,
/// UTS and IPC namespaces, its init leading its own session, sharing the host's network and root file
/// system. Its files must therefore exist at the same paths on every host it may move to (a shared or
/// replicated file system): CRIU moves processes, not disks.
/// </summary>
public sealed record ContainerSpec
{
    /// <summary>Container name (a long token): names its registry entry, its logs and its image directories.</summary>
    public required string Name { get; init; }

    /// <summary>The init's argument list; the first element is an absolute executable path.</summary>
    public required IReadOnlyList<string> Command { get; init; }

    /// <summary>The init's working directory (absolute). Defaults to /.</summary>
    public string WorkingDirectory { get; init; } = "/";

    /// <summary>
    /// Optional file the container appends <c>heartbeat N</c> lines to (the test guests' convention): a move is
    /// verified only once it grows past the last beat seen at the source. Null: verified by liveness alone.
    /// </summary>
    public string? HeartbeatFile { get; init; }

    /// <summary>Throws unless every field is safe to reach a path or an argument list.</summary>
    /// <exception cref="ArgumentException">Names the field and the problem.</exception>
    public void Validate()
    {
        Identifiers.RequireLongToken(Name, nameof(Name));
        ArgumentNullException.ThrowIfNull(Command, nameof(Command));
        if (Command.Count is 0 or > 256 || Command.Any(a => a is null || a.Length > 4096 || a.Contains('\0', StringComparison.Ordinal)))
        {
            throw new ArgumentException($"{nameof(Command)} must hold 1..256 arguments without NUL characters", nameof(Command));
        }
        CriuArguments.RequireSafePath(Command[0], $"{nameof(Command)}[0]");
        CriuArguments.RequireSafePath(WorkingDirectory, nameof(WorkingDirectory));
        if (HeartbeatFile is not null)
        {
            CriuArguments.RequireSafePath(HeartbeatFile, nameof(HeartbeatFile));
        }
    }
}

/// <summary>A container registered with an agent: its spec and the host pid of its init.</summary>
public sealed record ContainerRecord
{
    /// <summary>What the container is.</summary>
    public required ContainerSpec Spec { get; init; }

    /// <summary>Host pid of the container's init (pid 1 inside it).</summary>
    public required int InitPid { get; init; }

    /// <summary>The init's start time (clock ticks since boot): with the pid, it tells a reused pid apart.</summary>
    public required long InitStartTime { get; init; }

    /// <summary>The <c>unshare</c> process that waits on a container started here; null for a restored one.</summary>
    public int? ShimPid { get; init; }

    /// <summary>Where the container's stdout and stderr go (inside the agent's directory).</summary>
    public required string LogFile { get; init; }

    /// <summary>The agent it was restored from, or null when it started here.</summary>
    public string? MovedFrom { get; init; }

    /// <summary>True while the init is the very process that was registered.</summary>
    [JsonIgnore]
    public bool IsRunning => ProcessTree.IsAlive(InitPid, InitStartTime);

    /// <summary>Throws unless the record is safe to act on.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Spec, nameof(Spec));
        Spec.Validate();
        Identifiers.RequirePid(InitPid, nameof(InitPid));
        if (ShimPid is { } shim)
        {
            Identifiers.RequirePid(shim, nameof(ShimPid));
        }
        CriuArguments.RequireSafePath(LogFile, nameof(LogFile));
        if (MovedFrom is not null)
        {
            Identifiers.RequireToken(MovedFrom, nameof(MovedFrom));
        }
    }
}
