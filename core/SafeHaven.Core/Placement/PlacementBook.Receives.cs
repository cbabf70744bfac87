using SafeHaven.Schemas;

namespace SafeHaven.Core.Placement;

// Bookings of another datacenter's moves that this planner gave back unanswered (docs/LEDGER.md, "Late receives"): the
// receive may have run after all (its agent answered in time to the source, then was down past the lease and the grace),
// so the booking is remembered, keyed "receive:RECEIVEID", until its answer or its workload's exit settles it. Such a record
// holds no capacity, except where a late success found another group on the host: then it claims the host (a conflict),
// and nobody else is placed there until that group leaves and the arrived workload takes the host.
public sealed partial class PlacementBook
{
    /// <summary>Key prefix of the records of given-back bookings of other datacenters' moves.</summary>
    public const string ReceivePrefix = "receive:";

    /// <summary>How many given-back bookings are remembered; past it the oldest is forgotten (a record says so).</summary>
    public const int MaxGivenBack = 1000;

    private readonly Dictionary<string, SlotRecord> _receives = new(StringComparer.Ordinal);

    // host slot -> the group of the workload that arrived there late while another group held it.
    private readonly Dictionary<string, string> _claims = new(StringComparer.Ordinal);

    /// <summary>Given-back bookings (event <c>expire</c>) and conflicts (event <c>conflict</c>), oldest first.</summary>
    public IReadOnlyList<SlotRecord> GivenBack =>
        [.. _receives.Values.OrderBy(r => r.updatedAtNs).ThenBy(r => r.slot, StringComparer.Ordinal)];

    /// <summary>Number of given-back bookings and conflicts remembered.</summary>
    public int GivenBackCount => _receives.Count;

    /// <summary>The conflicts: late arrivals on hosts another group held, each claiming its host.</summary>
    public IEnumerable<SlotRecord> Conflicts => _claims.Count == 0 ? [] : _receives.Values.Where(r => r.@event == LedgerEvents.Conflict);

    /// <summary>The record of the given-back booking of receive <paramref name="commandId"/>, or null.</summary>
    public SlotRecord? GivenBackOf(string? commandId) => commandId is null ? null : _receives.GetValueOrDefault(ReceivePrefix + commandId);

    /// <summary>
    /// The slot a given-back booking was made in: its member's <c>target</c> (the booking's own target is its agent, which
    /// the record's <c>actuator</c> keeps).
    /// </summary>
    public static string SlotOf(SlotRecord givenBack)
    {
        ArgumentNullException.ThrowIfNull(givenBack);
        return givenBack.members[0].target;
    }

    /// <summary>
    /// Remembers that <paramref name="member"/>'s booking in <paramref name="slot"/> is given back unanswered; returns the
    /// record to persist (written before the slot's own record, so no crash leaves a freed booking forgotten).
    /// </summary>
    public SlotRecord GiveBack(SlotRecord slot, SlotMember member, string reason, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(member);
        var kept = Member(member, member.status, slot.slot);
        return Put(new SlotRecord
        {
            slot = ReceivePrefix + member.commandId, actuator = slot.actuator, level = slot.level, cpus = null, group = slot.group,
            members = [kept], @event = LedgerEvents.Expire, reason = reason, writer = Writer, updatedAtNs = nowNs,
        });
    }

    /// <summary>Records a late arrival on a host another group holds (it claims the host); returns the record to persist.</summary>
    public SlotRecord Conflict(SlotRecord givenBack, SlotMember arrived, string reason, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(givenBack);
        return Put(Copy(givenBack, [Member(arrived, MemberStatus.Held, SlotOf(givenBack))], LedgerEvents.Conflict, reason, nowNs));
    }

    /// <summary>Forgets a given-back booking (settled, or dropped past <see cref="MaxGivenBack"/>); null when none.</summary>
    public SlotRecord? Forget(string? commandId, string reason, long nowNs) => GivenBackOf(commandId) is { } given
        ? Put(Copy(given, [], LedgerEvents.Leave, reason, nowNs))
        : null;

    // A late arrival's claim on a host slot: the group of the workload running there beside the holder, or null.
    private string? ClaimantOf(string slot) => _claims.GetValueOrDefault(slot);

    private void ApplyReceive(SlotRecord record)
    {
        if (_receives.Remove(record.slot, out var old) && old.@event == LedgerEvents.Conflict)
        {
            _claims.Remove(SlotOf(old));
        }
        if (record.members.Count == 0 || record.group is null)
        {
            return;
        }
        _receives[record.slot] = record;
        if (record.@event == LedgerEvents.Conflict)
        {
            _claims[SlotOf(record)] = record.group;
        }
    }

    private static SlotMember Member(SlotMember m, string status, string slotKey) => new()
    {
        entityId = m.entityId, entity = m.entity, detectionId = m.detectionId, rule = m.rule, scope = m.scope, status = status,
        commandId = m.commandId, source = m.source, target = slotKey, deadlineNs = m.deadlineNs, attempts = m.attempts,
    };
}
