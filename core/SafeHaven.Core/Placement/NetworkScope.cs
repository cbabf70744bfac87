namespace SafeHaven.Core.Placement;

/// <summary>
/// The network scope's criterion (remote timing, co-located network paths): the suspect must leave its network segment
/// (a rack or subnet label from the agents' configuration, in the inventory) for one where none of its potential
/// victims runs, i.e. no tenant other than its own that shares its current segment.
/// </summary>
/// <param name="Segment">The suspect's segment.</param>
/// <param name="Victims">Tenants other than the suspect's with an entity on a host of its segment.</param>
/// <param name="Refusal">Why no network-scope move can be planned at all, or null.</param>
internal sealed record NetworkScope(string? Segment, IReadOnlySet<string> Victims, string? Refusal)
{
    /// <summary>The criterion for a suspect of <paramref name="tenant"/> on <paramref name="source"/>'s host.</summary>
    public static NetworkScope Of(PlacementBook book, ActuatorInfo source, string? tenant)
    {
        if (source.Segment is not { } segment)
        {
            return new(null, new HashSet<string>(), $"host {source.Host} has no network segment label: a network-scope move needs one");
        }
        var victims = book.Actuators.Where(a => a.Segment == segment)
            .Select(a => (a.Datacenter, a.Host)).Distinct()
            .SelectMany(h => book.Tenants.OtherTenants(h.Datacenter, h.Host, tenant))
            .ToHashSet(StringComparer.Ordinal);
        return new(segment, victims, null);
    }

    /// <summary>Why <paramref name="target"/> is no fit for the suspect, or null when its segment is.</summary>
    public string? Refuses(PlacementBook book, ActuatorInfo target)
    {
        if (target.Segment is not { } segment)
        {
            return $"{target.Host} has no network segment label";
        }
        if (segment == Segment)
        {
            return $"{target.Host} is in the suspect's segment {segment}";
        }
        var there = book.Actuators.Where(a => a.Segment == segment).Select(a => (a.Datacenter, a.Host)).Distinct()
            .SelectMany(h => book.Tenants.OtherTenants(h.Datacenter, h.Host, null))
            .Where(Victims.Contains).Distinct().Order(StringComparer.Ordinal).ToList();
        return there.Count > 0 ? $"{target.Host}'s segment {segment} runs victim tenant {string.Join(", ", there)}" : null;
    }
}
