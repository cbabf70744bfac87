using System.Text.Json.Nodes;

namespace SafeHaven.Cli.Top;

/// <summary><c>top --once --json</c>: the snapshot as one JSON document, for scripts.</summary>
internal static class TopJson
{
    /// <summary>The document: <c>hosts</c>, <c>hot</c>, <c>isolations</c>, <c>commands</c>, <c>counters</c>.</summary>
    public static JsonObject Of(TopSnapshot s) => new()
    {
        ["atNs"] = s.NowNs,
        ["hosts"] = new JsonArray([.. s.Hosts.Select(h => (JsonNode)new JsonObject
        {
            ["host"] = h.Host, ["datacenter"] = h.Datacenter, ["periodMs"] = h.PeriodNs / 1e6,
            ["entities"] = h.EntitiesLastTick > 0 ? h.EntitiesLastTick : h.EntitiesThisTick, ["samples"] = h.Samples,
            ["lastWindowEndNs"] = h.LastWindowEndNs,
        })]),
        ["hot"] = new JsonArray([.. s.Hot.Select(h => (JsonNode)new JsonObject
        {
            ["entityId"] = h.EntityId, ["host"] = h.Entity.host, ["pid"] = h.Entity.pid, ["comm"] = h.Entity.comm,
            ["container"] = h.Entity.container, ["vm"] = h.Entity.vm, ["rule"] = h.Rule, ["counter"] = h.Counter,
            ["rate"] = h.LastRate, ["detectedRate"] = h.DetectedRate, ["threshold"] = h.Threshold, ["scope"] = h.Scope, ["detections"] = h.Detections,
            ["lastDetectedAtNs"] = h.LastDetectedAtNs,
        })]),
        ["isolations"] = new JsonArray([.. s.Isolations.Select(i => (JsonNode)new JsonObject
        {
            ["slot"] = i.slot, ["level"] = i.level, ["actuator"] = i.actuator, ["cpus"] = i.cpus, ["group"] = i.group,
            ["event"] = i.@event, ["updatedAtNs"] = i.updatedAtNs,
            ["members"] = new JsonArray([.. i.members.Select(m => (JsonNode)new JsonObject
            {
                ["entityId"] = m.entityId, ["pid"] = m.entity.pid, ["comm"] = m.entity.comm, ["status"] = m.status,
                ["rule"] = m.rule, ["commandId"] = m.commandId,
            })]),
        })]),
        ["waiting"] = new JsonArray([.. s.Waiting.SelectMany(w => w.members.Select(m => (JsonNode)new JsonObject
        {
            ["entityId"] = m.entityId, ["group"] = w.group, ["detectionId"] = m.detectionId, ["reason"] = w.reason, ["sinceNs"] = w.updatedAtNs,
        }))]),
        ["commands"] = new JsonArray([.. s.Commands.Select(c => (JsonNode)new JsonObject
        {
            ["commandId"] = c.CommandId, ["level"] = c.Level, ["action"] = c.Action, ["host"] = c.Entity.host, ["pid"] = c.Entity.pid,
            ["target"] = c.Target, ["issuedAtNs"] = c.IssuedAtNs, ["status"] = c.Status, ["error"] = c.Error, ["totalMs"] = c.TotalMs,
            ["phasesMs"] = new JsonObject([.. c.Phases.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))]),
        })]),
        ["counters"] = new JsonObject
        {
            ["skipped"] = s.Skipped, ["failed"] = s.Failed,
            ["deadLetters"] = new JsonObject([.. s.DeadLetters.Select(d => KeyValuePair.Create(d.Key, (JsonNode?)d.Value))]),
            ["records"] = new JsonObject([.. s.Records.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))]),
        },
    };
}
