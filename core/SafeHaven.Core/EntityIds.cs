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
        var host = $"{Identifiers.RequireToken(entity.datacenter, "datacenter")}/{Identifiers.RequireToken(entity.host, "host")}";
        if (entity.pid is { } pid)
        {
            return $"{host}/pid/{Identifiers.RequirePid(pid, "pid").ToString(CultureInfo.InvariantCulture)}";
        }
        if (entity.container is { } container)
        {
            return $"{host}/container/{Identifiers.RequireLongToken(container, "container")}";
        }
        if (entity.vm is { } vm)
        {
            return $"{host}/vm/{Identifiers.RequireLongToken(vm, "vm")}";
        }
        return host;
    }

    /// <summary>The id of a host.</summary>
    public static string OfHost(string datacenter, string host) =>
        $"{Identifiers.RequireToken(datacenter, "datacenter")}/{Identifiers.RequireToken(host, "host")}";
}
