using System.Reflection;
using System.Text.Json.Nodes;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>Turns detections and isolation results into one SIEM event each (a JSON object).</summary>
public interface ISiemProjection
{
    /// <summary>The event for a detection (a finding).</summary>
    JsonObject Finding(SafeHaven.Schemas.Detection d);

    /// <summary>The event for an isolation result (a remediation activity), linked to its finding when the command id names one.</summary>
    JsonObject Remediation(IsolationResult r);
}

/// <summary>What both dialects share: identity of the deployment, times, entity descriptions.</summary>
public abstract class SiemProjection(string cluster) : ISiemProjection
{
    /// <summary>The product version written into every event (the assembly's informational version, without build metadata).</summary>
    public static string ProductVersion { get; } =
        (typeof(SiemProjection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0")
        .Split('+')[0];

    /// <summary>The deployment's cluster identity.</summary>
    protected string Cluster { get; } = cluster;

    /// <summary>The projection for <paramref name="format"/>.</summary>
    public static ISiemProjection For(SiemFormat format, string cluster) => format switch
    {
        SiemFormat.Ecs => new EcsProjection(cluster),
        _ => new OcsfProjection(cluster),
    };

    /// <inheritdoc/>
    public abstract JsonObject Finding(SafeHaven.Schemas.Detection d);

    /// <inheritdoc/>
    public abstract JsonObject Remediation(IsolationResult r);

    /// <summary>Unix epoch ns → ms (OCSF's <c>timestamp_t</c>).</summary>
    protected static long Ms(long ns) => ns / 1_000_000;

    /// <summary>Unix epoch ns → ISO 8601 UTC with ms (ECS's <c>@timestamp</c>).</summary>
    protected static string Iso(long ns) =>
        DateTimeOffset.FromUnixTimeMilliseconds(Ms(ns)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What kind of entity it is: <c>process</c>, <c>container</c>, <c>vm</c> or <c>host</c> (most specific wins, as in its id).</summary>
    protected static string KindOf(EntityRef e) => e.pid is not null ? "process" : e.container is not null ? "container" : e.vm is not null ? "vm" : "host";

    /// <summary>The entity's id, or a placeholder for one whose parts are not valid ids (bounds checks run before this).</summary>
    protected static string IdOf(EntityRef e)
    {
        try
        {
            return EntityIds.Of(e);
        }
        catch (ArgumentException)
        {
            return $"{e.datacenter}/{e.host}";
        }
    }

    /// <summary>The SafeHaven-specific facts of a detection, shared by both dialects.</summary>
    protected JsonObject DetectionFacts(SafeHaven.Schemas.Detection d) => new()
    {
        ["datacenter"] = d.entity.datacenter,
        ["cluster"] = d.cluster ?? Cluster,
        ["entity_id"] = IdOf(d.entity),
        ["entity_kind"] = KindOf(d.entity),
        ["vm"] = d.entity.vm,
        ["detection_id"] = d.detectionId,
        ["detection_kind"] = d.kind ?? DetectionKinds.Detected,
        ["rule"] = d.rule,
        ["counter"] = d.counter,
        ["rate"] = d.rate,
        ["threshold"] = d.threshold,
        ["scope"] = d.scope,
        ["sample_seq"] = d.sampleSeq,
    };

    /// <summary>The SafeHaven-specific facts of a result, shared by both dialects.</summary>
    protected JsonObject ResultFacts(IsolationResult r, ResultLink link)
    {
        var phases = new JsonObject();
        foreach (var (name, ns) in r.phases ?? new Dictionary<string, long>())
        {
            phases[name] = ns;
        }
        return new JsonObject
        {
            ["datacenter"] = r.entity.datacenter,
            ["cluster"] = r.cluster ?? Cluster,
            ["entity_id"] = IdOf(r.entity),
            ["entity_kind"] = KindOf(r.entity),
            ["vm"] = r.entity.vm,
            ["detection_id"] = link.DetectionId,
            ["command_id"] = r.commandId,
            ["action"] = link.Action,
            ["level"] = r.level,
            ["status"] = r.status,
            ["error"] = r.error,
            ["actuator"] = r.actuator,
            ["cpus"] = r.cpus,
            ["dry_run"] = r.dryRun,
            ["duration_ms"] = (r.finishedAtNs - r.startedAtNs) / 1e6,
            ["downtime_ms"] = r.downtimeNs is { } down ? down / 1e6 : null,
            ["bytes_transferred"] = r.bytesTransferred,
            ["phases_ns"] = phases,
        };
    }

    /// <summary>A one-line description of a detection.</summary>
    protected static string Describe(SafeHaven.Schemas.Detection d) => FormattableString.Invariant(
        $"{(d.kind == DetectionKinds.Quiet ? "quiet" : "detected")}: rule {d.rule}, {d.counter} at {d.rate:0.#}/s (threshold {d.threshold:0.#}/s, scope {d.scope}) on {IdOf(d.entity)}{(d.entity.comm is { } c ? $" ({c})" : "")}");

    /// <summary>A one-line description of a result.</summary>
    protected static string Describe(IsolationResult r, ResultLink link) => FormattableString.Invariant(
        $"{link.Action} {IdOf(r.entity)} at level {r.level}: {r.status}{(r.error is { } e ? $" ({e})" : "")} in {(r.finishedAtNs - r.startedAtNs) / 1e6:0.###} ms");
}
