using System.Globalization;
using SafeHaven.Core;
using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Inventory;

/// <summary>
/// Which tenant owns a process, from the configured tenant → selectors map
/// (<see cref="ProbeOptions.Tenants"/>). When selectors of several tenants match, the most
/// specific kind wins: <c>vm</c>, <c>container</c>, <c>unit</c>, <c>cgroup</c> (longest
/// prefix first), <c>uid</c>, <c>comm</c>; a selector may belong to one tenant only.
/// Not the planner's <c>SafeHaven.Core.Placement.TenantMap</c>, which records where each tenant's entities run.
/// </summary>
public sealed class TenantSelectors
{
    /// <summary>Selector kinds, most specific first.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["vm", "container", "unit", "cgroup", "uid", "comm"];

    private readonly List<(string Kind, string Value, string Tenant)> _selectors;

    private TenantSelectors(List<(string Kind, string Value, string Tenant)> selectors) => _selectors = selectors;

    /// <summary>No tenants configured.</summary>
    public static TenantSelectors Empty { get; } = new([]);

    /// <summary>Tenant names, in ordinal order.</summary>
    public IReadOnlyList<string> Tenants => [.. _selectors.Select(s => s.Tenant).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>The selectors of <paramref name="tenant"/> as configured (<c>kind:value</c>), in precedence order.</summary>
    public IReadOnlyList<string> SelectorsOf(string tenant) => [.. _selectors.Where(s => s.Tenant == tenant).Select(s => $"{s.Kind}:{s.Value}")];

    /// <summary>Validates and indexes the configured map.</summary>
    /// <exception cref="ArgumentException">Names the tenant and the bad selector.</exception>
    public static TenantSelectors Parse(IDictionary<string, IList<string>>? tenants)
    {
        string section = $"{ProbeOptions.SectionName}:{nameof(ProbeOptions.Tenants)}";
        var selectors = new List<(string Kind, string Value, string Tenant)>();
        var owner = new Dictionary<(string, string), string>();
        foreach (var (tenant, list) in tenants ?? new Dictionary<string, IList<string>>())
        {
            Identifiers.RequireToken(tenant, section);
            foreach (string selector in list ?? [])
            {
                string what = $"{section}:{tenant}";
                int colon = selector?.IndexOf(':', StringComparison.Ordinal) ?? -1;
                string kind = colon < 0 ? "" : selector![..colon];
                string value = colon < 0 ? "" : selector![(colon + 1)..];
                if (!Kinds.Contains(kind) || !Valid(kind, value))
                {
                    throw new ArgumentException($"{what}: '{Identifiers.Printable(selector ?? "")}' is not a selector " +
                        "(comm:NAME, uid:N, container:ID, vm:NAME, unit:NAME.service or cgroup:/PATH)", nameof(tenants));
                }
                if (kind == "cgroup" && value.Length > 1)
                {
                    value = value.TrimEnd('/');
                }
                if (owner.TryGetValue((kind, value), out string? other) && other != tenant)
                {
                    throw new ArgumentException($"{what}: '{kind}:{value}' is also a selector of tenant '{other}'", nameof(tenants));
                }
                owner[(kind, value)] = tenant;
                selectors.Add((kind, value, tenant));
            }
        }
        // Precedence order; ties on kind by longer value (cgroup prefixes), then ordinal, for determinism.
        selectors.Sort((a, b) =>
        {
            int c = Rank(a.Kind).CompareTo(Rank(b.Kind));
            c = c != 0 ? c : b.Value.Length.CompareTo(a.Value.Length);
            return c != 0 ? c : string.CompareOrdinal(a.Value, b.Value);
        });
        return new TenantSelectors(selectors);
    }

    /// <summary>The tenant owning <paramref name="process"/> (real uid <paramref name="uid"/> when known), or null.</summary>
    public string? Resolve(DiscoveredProcess process, uint? uid)
    {
        ArgumentNullException.ThrowIfNull(process);
        var id = process.Identity;
        foreach (var (kind, value, tenant) in _selectors)
        {
            bool match = kind switch
            {
                "vm" => id.Vm == value,
                "container" => id.Container == value,
                "unit" => process.Unit == value,
                "cgroup" => process.CgroupPath is { } p && DiscoveryFilter.UnderPrefix(p, value),
                "uid" => uid?.ToString(CultureInfo.InvariantCulture) == value,
                _ => id.Comm == value,
            };
            if (match)
            {
                return tenant;
            }
        }
        return null;
    }

    private static int Rank(string kind)
    {
        for (int i = 0; i < Kinds.Count; i++)
        {
            if (Kinds[i] == kind)
            {
                return i;
            }
        }
        return Kinds.Count;
    }

    private static bool Valid(string kind, string value) => kind switch
    {
        "vm" or "container" => Identifiers.IsLongToken(value),
        "unit" => ContainerIds.SystemdUnit("/" + value) == value,
        "cgroup" => DiscoveryFilter.IsCgroupPath(value),
        "uid" => uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint u) && u != uint.MaxValue
            && u.ToString(CultureInfo.InvariantCulture) == value,
        _ => value.Length is > 0 and <= 15 && !value.Any(char.IsControl),
    };
}
