using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SafeHaven.Core.CrossDc;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Security;

namespace SafeHaven.StreamProcessors.Planning.CrossDc;

/// <summary>
/// A <c>plan</c> process's side of the cross-datacenter protocol (docs/SCALING.md §4), built from
/// <see cref="PlannerOptions.Peers"/>: a link to its own cluster (the leases other datacenters take on entities moving in,
/// and the reservations they ask for) and one to each peer's (to move its own entities out). Lives as long as the
/// service; the planner's active term starts the reservation responder and runs the moves (PlannerSession).
/// </summary>
internal sealed partial class PlannerCrossDc : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    private PlannerCrossDc(PlannerIdentity me, CrossDcSettings settings, TimeProvider time, ILogger logger)
    {
        (Me, Settings, _time, _logger) = (me, settings, time, logger);
    }

    /// <summary>This planner in the protocol.</summary>
    public PlannerIdentity Me { get; }

    /// <summary>Lease length and command settings of the moves out.</summary>
    public CrossDcSettings Settings { get; }

    private CrossDcLink Home { get; set; } = null!;

    private ActionLeaseFollower HomeLeases { get; set; } = null!;

    private List<(CrossDcLink Link, CrossDcMover Mover)> Peers { get; } = [];

    /// <summary>Connects to the own and the peers' clusters; every peer's key directory must hold its planner's key.</summary>
    /// <exception cref="InvalidOperationException">A key is missing or unusable.</exception>
    public static PlannerCrossDc Start(KafkaClients kafka, PlannerOptions options, CommandSigner signer, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(kafka);
        ArgumentNullException.ThrowIfNull(options);
        var seal = kafka.Seals.Planner ?? throw new InvalidOperationException("cross-datacenter moves need the planner's record key (--signing-key)");
        var own = RecordVerifier.Trusting(seal);
        var peerKeys = options.Peers.Select(p => (Peer: p, Keys: PeerKeys(p))).ToList();
        var settings = new CrossDcSettings(options.CrossDcLease, options.CommandTtl, options.DryRun, options.ExpiryGrace);
        var me = new PlannerIdentity(options.Datacenter, kafka.Options.Cluster, options.InstanceId, seal, signer);
        var wiring = new PlannerCrossDc(me, settings, time, logger);
        try
        {
            // Whose name each planner key speaks in: this planner's key this datacenter's, a peer's directory that peer's, and a
            // planner key of the own trust store (another instance of this datacenter) this datacenter's unless a peer names it.
            var planners = new Dictionary<string, string>(CrossDcLink.PlannerKeys([(me.Datacenter, own), .. peerKeys.Select(p => (p.Peer.Datacenter, p.Keys))]),
                StringComparer.Ordinal);
            foreach (var who in (kafka.Seals.Verifier?.Identities ?? []).Where(IsPlanner))
            {
                planners.TryAdd(who.KeyId, me.Datacenter);
            }
            // Own cluster: its agents' results (the own trust store), this planner's records, and the peers' planner keys only
            // (their leases and reservation requests): a peer's agent key never counts here, nor does any peer key for the ledger.
            var homeTrust = (kafka.Seals.Verifier ?? own).With(own);
            homeTrust = peerKeys.Aggregate(homeTrust, (t, p) => t.With(p.Keys, IsPlanner));
            wiring.Home = wiring.Own(new CrossDcLink(me.Datacenter, kafka.Options, homeTrust, planners));
            wiring.HomeLeases = wiring.Own(new ActionLeaseFollower(wiring.Home, new ActionLeaseBook(time), logger));
            foreach (var (peer, keys) in peerKeys)
            {
                // A peer's cluster: its planner and agents, this planner, and the other peers' planners (whose leases there
                // every reader must fold alike).
                var trust = peerKeys.Where(p => p.Peer != peer).Aggregate(keys.With(own), (t, p) => t.With(p.Keys, IsPlanner));
                var link = wiring.Own(new CrossDcLink(peer.Datacenter, peer.ClientOptions(kafka.Options), trust, planners));
                var leases = wiring.Own(new ActionLeaseFollower(link, new ActionLeaseBook(time), logger));
                wiring.Peers.Add((link, new CrossDcMover(me, wiring.Home, link, leases, time, logger)));
            }
        }
        catch
        {
            wiring.Dispose();
            throw;
        }
        var peers = string.Join(", ", options.Peers.Select(p => $"{p.Datacenter} ({p.BootstrapServers})"));
        LogStarted(logger, me.Datacenter, peers);
        return wiring;
    }

    /// <summary>The planner's lease guard: names another datacenter's live lease on the entity, or null.</summary>
    public string? Refusal(string entityId) => HomeLeases.Read(b => b.Refusal(entityId, Me.Datacenter));

    /// <summary>Starts answering the peers' reservations with <paramref name="slots"/> (the active term's ledger).</summary>
    public ReservationResponder Answer(ICrossDcSlots slots) => new(Me, Home, HomeLeases, slots, _time, _logger);

    /// <summary>
    /// Moves <paramref name="move"/> out to the first peer that books it (in the configured order). Never throws: a failure
    /// is an outcome, so that the planner always learns how the move ended.
    /// </summary>
    public async Task<(CrossDcOutcome Outcome, string Target)> MoveOutAsync(CrossDcMove move, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(move);
        var refusals = new List<string>();
        foreach (var (link, mover) in Peers)
        {
            CrossDcOutcome outcome;
            try
            {
                outcome = await mover.MoveAsync(move, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is KafkaException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or AvroDecodeException)
            {
                outcome = new CrossDcOutcome(CrossDcStatus.Error, $"{link.Datacenter}: {e.Message}");
            }
            // Refused or leased there: the next peer may have room. Anything else sent commands (or may have: an error with
            // its commands watched): stop.
            if (outcome.Late is not null || outcome.Status is not (CrossDcStatus.Refused or CrossDcStatus.LeasedElsewhere or CrossDcStatus.Error)
                || Peers[^1].Link == link)
            {
                return (outcome with { Reason = refusals.Count > 0 ? $"{outcome.Reason} (after {string.Join("; ", refusals)})" : outcome.Reason }, link.Datacenter);
            }
            refusals.Add($"{link.Datacenter}: {outcome.Status}: {outcome.Reason}");
        }
        return (new CrossDcOutcome(CrossDcStatus.Refused, "no peer"), "");
    }

    private static bool IsPlanner(KeyIdentity who) => who.Role == KeyRoles.Planner;

    private static RecordVerifier PeerKeys(PlannerPeer peer)
    {
        RecordVerifier keys;
        try
        {
            keys = SigningKeys.LoadRecordVerifier(peer.TrustedKeys);
        }
        catch (KeyFileException e)
        {
            throw new InvalidOperationException($"peer {peer.Datacenter}: {e.Message}", e);
        }
        return keys.Trusts(KeyRoles.Planner)
            ? keys
            : throw new InvalidOperationException($"peer {peer.Datacenter}: no planner public key in {peer.TrustedKeys}");
    }

    private T Own<T>(T item) where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
        _owned.Clear();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "planner of {Datacenter}: cross-datacenter moves to and from {Peers}")]
    private static partial void LogStarted(ILogger logger, string datacenter, string peers);
}
