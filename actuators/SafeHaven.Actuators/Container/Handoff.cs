using System.Text.Json;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// Where the two halves of a move meet: small JSON files in the target's <c>incoming/NAME/</c>, each written
/// whole (temp file + rename) and read by polling with a deadline. The target writes <c>ticket.json</c>
/// (ready to receive), the source <c>sent.json</c> (images handed over, or why not), the target
/// <c>outcome.json</c> (restored and verified, or why not). <c>decision</c> is created exclusively, by the
/// target before it restores or by a source that gives up waiting, so exactly one of them decides.
/// </summary>
internal sealed class Handoff(string dir, string moveId)
{
    private const string TicketFile = "ticket.json", SentFile = "sent.json", OutcomeFile = "outcome.json", DecisionFile = "decision";

    public string Dir { get; } = dir;

    public string MoveId { get; } = Identifiers.RequireId(moveId, nameof(moveId));

    public string Images => Path.Join(Dir, "images");

    /// <summary>Wipes what an earlier move left and makes a fresh, private meeting place.</summary>
    public void Reset()
    {
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
        ContainerSite.CreatePrivate(Images);
    }

    public void WriteTicket(Ticket t) => Write(TicketFile, t);

    public void WriteSent(Sent s) => Write(SentFile, s);

    public void WriteOutcome(Outcome o) => Write(OutcomeFile, o);

    /// <summary>Best effort, for a side that gives up: false when the meeting place is gone or unwritable (the other side then times out).</summary>
    public bool TryWriteSent(Sent s) => TryWrite(SentFile, s);

    /// <inheritdoc cref="TryWriteSent"/>
    public bool TryWriteOutcome(Outcome o) => TryWrite(OutcomeFile, o);

    public Task<Ticket?> WaitTicketAsync(TimeSpan timeout, CancellationToken ct) => WaitAsync<Ticket>(TicketFile, t => t.MoveId == MoveId, timeout, ct);

    public Task<Sent?> WaitSentAsync(TimeSpan timeout, CancellationToken ct) => WaitAsync<Sent>(SentFile, s => s.MoveId == MoveId, timeout, ct);

    public Task<Outcome?> WaitOutcomeAsync(TimeSpan timeout, CancellationToken ct) => WaitAsync<Outcome>(OutcomeFile, o => o.MoveId == MoveId, timeout, ct);

    /// <summary>Claims the decision for <paramref name="choice"/>; returns the choice that stands (ours, or the other side's).</summary>
    /// <exception cref="IOException">The meeting place is gone (<see cref="DirectoryNotFoundException"/>) or unusable.</exception>
    /// <exception cref="UnauthorizedAccessException">The meeting place is not writable.</exception>
    public string Decide(string choice)
    {
        var path = Path.Join(Dir, DecisionFile);
        try
        {
            using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            f.Write(System.Text.Encoding.ASCII.GetBytes(MoveId + " " + choice));
            return choice;
        }
        catch (IOException) when (File.Exists(path))
        {
            var text = File.ReadAllText(path);
            return text.StartsWith(MoveId + " ", StringComparison.Ordinal) ? text[(MoveId.Length + 1)..] : "stale";
        }
    }

    private void Write<T>(string name, T value)
    {
        var path = Path.Join(Dir, name);
        File.WriteAllText(path + ".tmp", JsonSerializer.Serialize(value));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private bool TryWrite<T>(string name, T value)
    {
        try
        {
            Write(name, value);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private async Task<T?> WaitAsync<T>(string name, Func<T, bool> ours, TimeSpan timeout, CancellationToken ct) where T : class
    {
        var path = Path.Join(Dir, name);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(timeout);
        try
        {
            while (true)
            {
                if (File.Exists(path))
                {
                    try
                    {
                        if (JsonSerializer.Deserialize<T>(File.ReadAllText(path)) is { } value && ours(value))
                        {
                            return value;
                        }
                    }
                    catch (Exception e) when (e is IOException or JsonException)
                    {
                        // Replaced or removed while read: look again.
                    }
                }
                await Task.Delay(2, bound.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }
}

/// <summary>The target is ready: where its page server listens (page-server mode); the other images go to <see cref="Handoff.Images"/>.</summary>
internal sealed record Ticket(string MoveId, CriuPageMode Mode, string Address, int PageServerPort);

/// <summary>The source's dump is at the target (or why not), with what the target needs to restore and verify.</summary>
internal sealed record Sent(string MoveId, string? Error, ContainerRecord? Record, long? LastBeat, string? LazyAddress, int LazyPort, long MetadataBytes);

/// <summary>The target's verdict: the restored init, or why not.</summary>
internal sealed record Outcome(string MoveId, string? Error, int? InitPid);
