using System.Collections.Concurrent;

namespace SafeHaven.Kafka.Telemetry;

/// <summary>
/// What the roles of this process say about their readiness: each registers a check that returns null when ready or
/// a sentence saying what it waits for. <c>/readyz</c> asks every check (docs/OPERATIONS.md, "Health endpoints").
/// Process-wide: one process runs one set of roles.
/// </summary>
public static class RoleHealth
{
    private static readonly ConcurrentDictionary<long, (string Name, Func<string?> NotReady)> Checks = new();
    private static long _next;

    /// <summary>Registers <paramref name="notReady"/> under <paramref name="name"/> until the returned handle is disposed.</summary>
    public static IDisposable Register(string name, Func<string?> notReady)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(notReady);
        var id = Interlocked.Increment(ref _next);
        Checks[id] = (name, notReady);
        return new Registration(id);
    }

    /// <summary>The checks that are not ready now, with what each waits for (empty: every role is ready).</summary>
    public static IReadOnlyList<(string Name, string Reason)> NotReady()
    {
        var waiting = new List<(string, string)>();
        foreach (var (_, (name, check)) in Checks.OrderBy(c => c.Key))
        {
            string? reason;
            try
            {
                reason = check();
            }
#pragma warning disable CA1031 // A check that throws (a client disposed under it) is a role not ready, never a failed scrape.
            catch (Exception e)
#pragma warning restore CA1031
            {
                reason = $"{e.GetType().Name}: {e.Message}";
            }
            if (reason is not null)
            {
                waiting.Add((name, reason));
            }
        }
        return waiting;
    }

    /// <summary>How many checks are registered.</summary>
    public static int Count => Checks.Count;

    private sealed class Registration(long id) : IDisposable
    {
        public void Dispose() => Checks.TryRemove(id, out _);
    }
}
