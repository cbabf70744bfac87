using SafeHaven.Core;
using SafeHaven.Core.Placement;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using static SafeHaven.Cli.Tests.Pipeline.HostileRecords;

namespace SafeHaven.Cli.Tests.Pipeline;

// Commands (signed inside the record, not sealed in headers) and the ledger (read by the planner at rebuild only).
internal static partial class HostileCatalog
{
    /// <summary>Every command keyed by the agent's id: commands keyed by another id are another agent's to answer.</summary>
    public static List<Hostile> Commands(Random random, string topic, HostileScene s)
    {
        var set = new HostileRecords(random, topic, Seals.Kinds.Commands, genuine: null, foreign: null);
        var genuine = s.GenuineByKind[Seals.Kinds.Commands];
        var canary = Decode<IsolationCommand>(genuine[0]);
        var codec = new SingleObjectCodec<IsolationCommand>();
        set.Junk(codec.Encode(canary), () => s.AgentId);
        set.Absurd(canary, [
            ("1,000-character command id", (c, _) => c.commandId = Long(1000)),
            ("issued in 2001", (c, _) => c.issuedAtNs = Y2001),
            ("2,000-byte signature", (c, _) => c.signature = new byte[2000]),
            ("300 reasons", (c, _) => c.reasons = [.. Enumerable.Repeat("r", 300)]),
            ("20,000-character target", (c, _) => c.target = Long(20_000)),
            ("pid 0", (c, _) => c.entity.pid = 0),
        ], 150, _ => s.AgentId);
        set.Absurd(canary, [("oversized, decodable (1 MB target)", (c, _) => c.target = Long(1_000_000))], 1, _ => s.AgentId);
        // Well-formed moves of pid 1, of the benign process and of the canary: unsigned, signed by a planner key nobody
        // trusts, or the canary's genuine signature on an altered command.
        for (var i = 0; i < 250; i++)
        {
            var c = Copy(canary);
            (c.commandId, c.detectionId, c.issuedAtNs, c.deadlineNs) = ($"c-forged-{i}-core", $"forged-{i}", NowNs(), NowNs() + Minute);
            (c.entity.pid, c.entity.startTime) = (i % 3) switch
            {
                0 => (1, (long?)null),
                1 => (s.Benign.entity.pid, s.Benign.entity.startTime),
                _ => (c.entity.pid, c.entity.startTime),
            };
            string label;
            if (i < 100)
            {
                (c.keyId, c.signature, label) = (null, [], "forged, unsigned");
            }
            else if (i < 200)
            {
                s.ForeignPlanner.Sign(c);
                label = "forged, signed by an untrusted planner key";
            }
            else
            {
                (c.commandId, c.keyId, c.signature, label) = (canary.commandId, canary.keyId, canary.signature, "forged, the canary's signature on an altered command");
            }
            set.Add(label, s.AgentId, codec.Encode(c), Expect.DeadLetter);
        }
        set.Replays(genuine, 50);
        return set.Records;
    }

    /// <summary>
    /// Ledger records, written before the planner starts so that its rebuild reads them: a forged hold of the pool CPU
    /// would keep the canary off it. There is no genuine ledger record yet to replay.
    /// </summary>
    public static List<Hostile> Placements(Random random, string topic, string host, RoleSeals keys, RoleSeals foreign)
    {
        var set = new HostileRecords(random, topic, Seals.Kinds.Placements, keys.Planner, foreign.Planner);
        var hold = new SlotRecord
        {
            slot = $"{host}#cpu:1", actuator = host, level = Levels.Core, cpus = "1", group = "pgid:999999", @event = LedgerEvents.Hold,
            reason = "forged", writer = "planner-forged", updatedAtNs = NowNs(),
            members =
            [
                new SlotMember
                {
                    entityId = $"local/{host}/pid/999999", entity = new EntityRef { datacenter = "local", host = host, pid = 999_999 },
                    scope = Scopes.Core, status = MemberStatus.Held, commandId = "c-forged-core", source = host, target = "1",
                    deadlineNs = NowNs() + Minute, detectionId = "forged", rule = "storm",
                },
            ],
        };
        var codec = new SingleObjectCodec<SlotRecord>();
        set.Junk(codec.Encode(hold), set.RandomKey);
        for (var i = 0; i < 50; i++)
        {
            // No replays here: as many random records again, to pass 1,000.
            set.Add("random bytes", set.RandomKey(), [.. Enumerable.Range(0, random.Next(0, 1025)).Select(_ => (byte)random.Next(256))], Expect.DeadLetter);
        }
        set.Absurd(hold, [
            ("updated an hour ahead", (r, _) => r.updatedAtNs = NowNs() + Hour),
            ("1,000-character slot", (r, _) => r.slot = Long(1000)),
            ("20,000-character reason", (r, _) => r.reason = Long(20_000)),
            ("1,000-character event", (r, _) => r.@event = Long(1000)),
            ("member pid 0", (r, _) => r.members[0].entity.pid = 0),
            ("1,000-character member id", (r, _) => r.members[0].entityId = Long(1000)),
        ], 150, r => r.slot);
        set.Absurd(hold, [("4,097 members", (r, _) => r.members = [.. Enumerable.Repeat(r.members[0], 4097)])], 1, r => r.slot);
        set.Absurd(hold, [("oversized, decodable (1 MB reason)", (r, _) => r.reason = Long(1_000_000))], 1, r => r.slot);
        set.Forged("a hold of the pool CPU by another group", i =>
        {
            var r = Copy(hold);
            r.updatedAtNs = NowNs();
            return r;
        }, _ => hold.slot, hold);
        return set.Records;
    }
}
