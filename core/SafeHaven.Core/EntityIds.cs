using System.Globalization;
using SafeHaven.Schemas;

namespace SafeHaven.Core;

/// <summary>
/// Stable entity ids, the keys of <c>safehaven.detections</c> and <c>safehaven.inventory</c>:
/// <c>dc/host</c>, <c>dc/host/vm/NAME</c>, <c>dc/host/container/ID</c>, <c>dc/host/pid/N</c>.
/// The most specific part wins: a process inside a container is keyed by its pid.
/// </summary>
public static class EntityIds
{
    /// <summary>The id of <paramref name="entity"/>; validates every part that goes into it.</summary>
    public static string Of(EntityRef entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return Within(OfHost(entity.datacenter, entity.host), entity.pid, entity.container, entity.vm);
    }

    /// <summary>
    /// The id of an entity on the host whose id is <paramref name="hostId"/> (from <see cref="OfHost"/>,
    /// so already valid); validates the entity's own parts. A batch of samples builds the host id once.
    /// </summary>
    public static string Within(string hostId, int? pid, string? container, string? vm)
    {
        ArgumentNullException.ThrowIfNull(hostId);
        if (pid is { } p)
        {
            return string.Concat(hostId, "/pid/", Identifiers.RequirePid(p, "pid").ToString(CultureInfo.InvariantCulture));
        }
        if (container is not null)
        {
            return $"{hostId}/container/{Identifiers.RequireLongToken(container, "container")}";
        }
        if (vm is not null)
        {
            return $"{hostId}/vm/{Identifiers.RequireLongToken(vm, "vm")}";
        }
        return hostId;
    }

    /// <summary>The id of the capability record agent <paramref name="actuatorId"/> publishes for its host.</summary>
    public static string OfActuator(string datacenter, string host, string actuatorId) =>
        OfHost(datacenter, host) + ActuatorInfix + actuatorId;

    /// <summary>What separates the host id from the agent id in an <see cref="OfActuator"/> id.</summary>
    public const string ActuatorInfix = "/actuator/";

    /// <summary>The id of a host.</summary>
    public static string OfHost(string datacenter, string host) =>
        $"{Identifiers.RequireToken(datacenter, "datacenter")}/{Identifiers.RequireToken(host, "host")}";
}
