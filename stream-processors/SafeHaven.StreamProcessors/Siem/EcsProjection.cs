using System.Text.Json.Nodes;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>
/// Elastic Common Schema events (field set of ECS 9.4; tests validate against a checked-in subset): a detection is
/// <c>event.kind: alert</c> in category <c>intrusion_detection</c>; a result is <c>event.kind: event</c> (a
/// remediation is not itself an alert) in category <c>process</c> or <c>host</c>, with <c>event.action</c> isolate,
/// release or receive and <c>event.outcome</c> from its status. Both carry the detection id in
/// <c>safehaven.detection_id</c>; everything without an ECS field is under <c>safehaven.*</c>.
/// </summary>
public sealed class EcsProjection(string cluster) : SiemProjection(cluster)
{
    /// <summary>The ECS version the events follow (<c>ecs.version</c>).</summary>
    public const string Version = "9.4.0";

    /// <inheritdoc/>
    public override JsonObject Finding(SafeHaven.Schemas.Detection d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var quiet = d.kind == DetectionKinds.Quiet;
        var e = Base(d.detectedAtNs, d.entity, d.cluster, Describe(d));
        e["event"] = new JsonObject
        {
            ["kind"] = "alert",
            ["category"] = new JsonArray("intrusion_detection"),
            ["type"] = new JsonArray(quiet ? "end" : "indicator"),
            ["action"] = quiet ? "quiet" : "detected",
            ["outcome"] = "success",
            ["id"] = d.detectionId,
            ["severity"] = quiet ? 21 : 73,
            ["start"] = Iso(d.firstSampleAtNs),
            ["end"] = Iso(d.detectedAtNs),
            ["dataset"] = "safehaven.siem",
            ["module"] = "safehaven",
            ["provider"] = "detector",
            ["reason"] = Describe(d),
        };
        e["rule"] = new JsonObject { ["name"] = d.rule, ["id"] = d.rule, ["category"] = d.scope, ["ruleset"] = "safehaven" };
        e["safehaven"] = DetectionFacts(d);
        return SiemJson.Compact(e);
    }

    /// <inheritdoc/>
    public override JsonObject Remediation(IsolationResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var link = ResultLink.Of(r.commandId);
        var e = Base(r.finishedAtNs, r.entity, r.cluster, Describe(r, link));
        e["event"] = new JsonObject
        {
            ["kind"] = "event",
            ["category"] = new JsonArray(r.level == Levels.Vm ? "host" : "process"),
            ["type"] = new JsonArray(r.status == ResultStatus.Succeeded ? "change" : r.status == ResultStatus.Skipped ? "info" : "error"),
            ["action"] = link.Action,
            ["outcome"] = r.status switch { ResultStatus.Succeeded => "success", ResultStatus.Skipped => "unknown", _ => "failure" },
            ["id"] = r.commandId,
            ["start"] = Iso(r.startedAtNs),
            ["end"] = Iso(r.finishedAtNs),
            ["duration"] = r.finishedAtNs - r.startedAtNs,
            ["dataset"] = "safehaven.siem",
            ["module"] = "safehaven",
            ["provider"] = "actuator",
            ["reason"] = r.error,
        };
        e["safehaven"] = ResultFacts(r, link);
        return SiemJson.Compact(e);
    }

    private JsonObject Base(long atNs, EntityRef entity, string? cluster, string message)
    {
        var e = new JsonObject
        {
            ["@timestamp"] = Iso(atNs),
            ["message"] = message,
            ["ecs"] = new JsonObject { ["version"] = Version },
            ["host"] = new JsonObject { ["name"] = entity.host, ["hostname"] = entity.host, ["id"] = $"{entity.datacenter}/{entity.host}" },
            ["observer"] = new JsonObject
            {
                ["vendor"] = "SafeHaven", ["product"] = "SafeHaven", ["version"] = ProductVersion, ["type"] = "ids", ["name"] = Cluster,
            },
            ["labels"] = new JsonObject { ["datacenter"] = entity.datacenter, ["cluster"] = cluster ?? Cluster },
        };
        if (entity.pid is { } pid)
        {
            e["process"] = new JsonObject { ["pid"] = pid, ["name"] = entity.comm };
        }
        if (entity.container is { } container)
        {
            e["container"] = new JsonObject { ["id"] = container };
        }
        return e;
    }
}
