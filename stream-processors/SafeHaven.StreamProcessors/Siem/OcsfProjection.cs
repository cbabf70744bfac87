using System.Text.Json.Nodes;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>
/// OCSF 1.x events (the class definitions of ocsf-schema v1.8.0; tests validate against a checked-in subset):
/// a Detection Finding (class 2004, category 2) per detection, with <c>finding_info.uid</c> = the detection id;
/// a Process Remediation Activity (7003) per result of a core or container move, a Remediation Activity (7001) per
/// result of a VM move, with activity Isolate (1) or Restore (3, a release). Both carry the detection id in
/// <c>metadata.correlation_uid</c>, so a SIEM joins a finding to its remediations on it.
/// </summary>
public sealed class OcsfProjection(string cluster) : SiemProjection(cluster)
{
    /// <summary>The OCSF version the events follow (<c>metadata.version</c>).</summary>
    public const string Version = "1.8.0";

    /// <inheritdoc/>
    public override JsonObject Finding(SafeHaven.Schemas.Detection d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var quiet = d.kind == DetectionKinds.Quiet;
        // Close (3) when the entity calmed down for the rule's releaseAfter; the isolation is then lifted.
        var activity = quiet ? 3 : 1;
        var e = Base(2004, "Detection Finding", 2, "Findings", activity, quiet ? "Close" : "Create",
            Ms(d.detectedAtNs), quiet ? 1 : 4, quiet ? "Informational" : "High", d.entity, d.detectionId);
        e["status_id"] = quiet ? 4 : 1;
        e["status"] = quiet ? "Resolved" : "New";
        e["is_alert"] = !quiet;
        e["message"] = Describe(d);
        e["start_time"] = Ms(d.firstSampleAtNs);
        e["end_time"] = Ms(d.detectedAtNs);
        e["finding_info"] = new JsonObject
        {
            ["uid"] = d.detectionId,
            ["title"] = $"{d.rule}: {d.counter} rate above {d.threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}/s",
            ["desc"] = Describe(d),
            ["types"] = new JsonArray($"{d.scope}-scope side or covert channel"),
            ["analytic"] = new JsonObject { ["name"] = d.rule, ["type_id"] = 1, ["type"] = "Rule" },
            ["first_seen_time"] = Ms(d.firstSampleAtNs),
            ["last_seen_time"] = Ms(d.detectedAtNs),
        };
        e["resources"] = new JsonArray(new JsonObject
        {
            ["uid"] = IdOf(d.entity), ["name"] = d.entity.comm ?? d.entity.container ?? d.entity.vm ?? d.entity.host,
            ["type"] = KindOf(d.entity), ["hostname"] = d.entity.host, ["region"] = d.entity.datacenter,
        });
        // A finding has no process attribute: the suspect process (or container) is its evidence.
        var evidence = new JsonObject { ["device"] = e["device"]!.DeepClone() };
        foreach (var name in new[] { "process", "container" })
        {
            if (e[name] is { } node)
            {
                e.Remove(name);
                evidence[name] = node;
            }
        }
        e["evidences"] = new JsonArray(evidence);
        e["unmapped"] = new JsonObject { ["safehaven"] = DetectionFacts(d) };
        return SiemJson.Compact(e);
    }

    /// <inheritdoc/>
    public override JsonObject Remediation(IsolationResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var link = ResultLink.Of(r.commandId);
        // Process and container moves act on processes (7003); a VM move acts on a machine (7001).
        var process = r.level != Levels.Vm;
        var restore = link.Action == Actions.Release;
        var (statusId, status) = r.status switch
        {
            ResultStatus.Succeeded => (1, "Success"),
            ResultStatus.Failed => (2, "Failure"),
            ResultStatus.Rejected => (2, "Failure"),
            _ => (99, "Skipped"),
        };
        var failed = statusId == 2;
        var e = Base(process ? 7003 : 7001, process ? "Process Remediation Activity" : "Remediation Activity", 7, "Remediation",
            restore ? 3 : 1, restore ? "Restore" : "Isolate", Ms(r.finishedAtNs), failed ? 3 : 1, failed ? "Medium" : "Informational",
            r.entity, link.DetectionId);
        e["command_uid"] = r.commandId;
        e["status_id"] = statusId;
        e["status"] = status;
        e["status_code"] = r.status;
        e["status_detail"] = r.error;
        e["message"] = Describe(r, link);
        e["start_time"] = Ms(r.startedAtNs);
        e["end_time"] = Ms(r.finishedAtNs);
        e["duration"] = Ms(r.finishedAtNs - r.startedAtNs);
        if (process && e["process"] is null)
        {
            // 7003 requires a process: a container move without a pid names the container's entity instead.
            e["process"] = new JsonObject { ["uid"] = IdOf(r.entity), ["name"] = r.entity.container ?? r.entity.host };
        }
        e["unmapped"] = new JsonObject { ["safehaven"] = ResultFacts(r, link) };
        return SiemJson.Compact(e);
    }

    private JsonObject Base(int classUid, string className, int categoryUid, string categoryName, int activityId, string activityName,
        long timeMs, int severityId, string severity, EntityRef entity, string? correlation)
    {
        var e = new JsonObject
        {
            ["class_uid"] = classUid,
            ["class_name"] = className,
            ["category_uid"] = categoryUid,
            ["category_name"] = categoryName,
            ["activity_id"] = activityId,
            ["activity_name"] = activityName,
            ["type_uid"] = (long)classUid * 100 + activityId,
            ["type_name"] = $"{className}: {activityName}",
            ["time"] = timeMs,
            ["severity_id"] = severityId,
            ["severity"] = severity,
            ["metadata"] = new JsonObject
            {
                ["version"] = Version,
                ["product"] = new JsonObject { ["name"] = "SafeHaven", ["vendor_name"] = "SafeHaven", ["version"] = ProductVersion },
                ["correlation_uid"] = correlation,
                ["log_name"] = Cluster,
                ["profiles"] = entity.container is null ? new JsonArray("host") : new JsonArray("host", "container"),
            },
            ["device"] = new JsonObject
            {
                ["uid"] = $"{entity.datacenter}/{entity.host}",
                ["hostname"] = entity.host,
                ["name"] = entity.host,
                ["region"] = entity.datacenter,
                ["type_id"] = 1,
                ["type"] = "Server",
            },
        };
        if (entity.pid is { } pid)
        {
            e["process"] = new JsonObject { ["pid"] = pid, ["name"] = entity.comm, ["uid"] = IdOf(entity) };
        }
        if (entity.container is { } container)
        {
            e["container"] = new JsonObject { ["uid"] = container, ["name"] = container };
        }
        return e;
    }
}
