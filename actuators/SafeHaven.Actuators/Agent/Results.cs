using System.Diagnostics;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Actuators.Agent;

/// <summary>
/// How every agent fills in its <see cref="IsolationResult"/>s, so that the host, hypervisor and container agents
/// stamp, time and close them alike: times in Unix ns from the agent's clock, phases in ns. One per agent.
/// </summary>
/// <param name="actuator">The agent id every result names.</param>
/// <param name="time">The agent's clock, for timestamps and (<see cref="Timestamp"/>, <see cref="ElapsedNs"/>) phase timings.</param>
internal sealed class Results(string actuator, TimeProvider time)
{
    /// <summary>A verdict of the agent's own checks that refuses the command.</summary>
    public static (string Status, string Error) Reject(string error) => (ResultStatus.Rejected, error);

    /// <summary>Now, Unix ns, from the agent's clock.</summary>
    public long NowNs() => time.NowNs();

    /// <summary>A timestamp of the agent's clock, for <see cref="ElapsedNs"/>.</summary>
    public long Timestamp() => time.GetTimestamp();

    /// <summary>Ns since <paramref name="start"/>, a <see cref="Timestamp"/>.</summary>
    public long ElapsedNs(long start) => time.GetElapsedTime(start).Ticks * 100;

    /// <summary>
    /// Ns since <paramref name="start"/>, a <see cref="Stopwatch.GetTimestamp"/>: for phases that must be real measurements
    /// even where the agent's clock is a test's fake (the host agent), at the Stopwatch's full resolution.
    /// </summary>
    public static long StopwatchElapsedNs(long start) => (long)((Stopwatch.GetTimestamp() - start) * (1e9 / Stopwatch.Frequency));

    /// <summary>A result of this agent that starts now and has no phases yet.</summary>
    public IsolationResult New(string commandId, EntityRef? entity, string level, bool dryRun = false) => new()
    {
        commandId = commandId, entity = entity, level = level, actuator = actuator,
        startedAtNs = NowNs(), phases = new Dictionary<string, long>(), dryRun = dryRun,
    };

    /// <summary>Closes <paramref name="result"/> now with <paramref name="status"/> and <paramref name="error"/>; returns it.</summary>
    public IsolationResult Finish(IsolationResult result, string status, string? error)
    {
        result.status = status;
        result.error = error;
        result.finishedAtNs = NowNs();
        return result;
    }

    /// <summary>
    /// The results of the commands a crash cut short (<see cref="CommandGate.Unfinished"/>), taken under the agent's
    /// one-move-at-a-time <paramref name="gate"/>: one a command, with a <c>reconcile</c> phase and the verdict of
    /// <paramref name="reconcile"/>, which reads back the real state of its move.
    /// </summary>
    /// <param name="gate">The agent's lock; no command runs meanwhile.</param>
    /// <param name="commands">The agent's gate, holding the journal.</param>
    /// <param name="entity">The entity a result names (the journal keeps what the agent needs of it).</param>
    /// <param name="reconcile">The status and reason of one command's result.</param>
    /// <param name="ct">Stops the wait for the lock and is passed to <paramref name="reconcile"/>.</param>
    public async Task<IReadOnlyList<IsolationResult>> ReconcileAsync(SemaphoreSlim gate, CommandGate commands, Func<JournalEntry, EntityRef> entity,
        Func<JournalEntry, CancellationToken, Task<(string Status, string Error)>> reconcile, CancellationToken ct)
    {
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var results = new List<IsolationResult>();
            foreach (var e in commands.Unfinished.ToList())
            {
                var start = Timestamp();
                var result = New(e.CommandId, entity(e), e.Level);
                var (status, error) = await reconcile(e, ct).ConfigureAwait(false);
                result.phases["reconcile"] = ElapsedNs(start);
                results.Add(Finish(result, status, error));
            }
            return results;
        }
        finally
        {
            gate.Release();
        }
    }
}
