namespace SafeHaven.Kafka.Clients;

/// <summary>
/// Where the roles of one process report that they died. The first report wins; the process that hosts the roles
/// waits on <see cref="First"/> beside its stop signal, logs the reason and exits non-zero, so a supervisor
/// (systemd, Kubernetes) sees the failure and restarts it instead of a process that stays up doing nothing.
/// </summary>
public sealed class RoleFailures
{
    private readonly TaskCompletionSource<string> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes with "role: why" when the first role reports its death.</summary>
    public Task<string> First => _first.Task;

    /// <summary>True once a role reported its death.</summary>
    public bool Failed => _first.Task.IsCompleted;

    /// <summary>Reports that <paramref name="role"/>'s loop ended abnormally; later reports are ignored.</summary>
    public void Report(string role, string why) => _first.TrySetResult($"{role}: {why}");
}
