using System.Globalization;
using SafeHaven.Core;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Inventory;

/// <summary>A watched process plus the facts read for the inventory only.</summary>
/// <param name="Process">What discovery found.</param>
/// <param name="Uid">Real uid, or null when unreadable.</param>
/// <param name="Cpus">Its <c>Cpus_allowed_list</c>, or null when unreadable.</param>
/// <param name="Pgrp">Its process group id (stat field 5), or null when unreadable.</param>
public sealed record ProcessFacts(DiscoveredProcess Process, uint? Uid, string? Cpus, int? Pgrp = null)
{
    /// <summary>Reads uid, allowed CPUs and process group of <paramref name="process"/> from <paramref name="proc"/>.</summary>
    public static ProcessFacts Read(DiscoveredProcess process, ProcFs proc)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(proc);
        string? status = proc.ReadStatus(process.Identity.Pid);
        int? pgrp = proc.ReadStat(process.Identity.Pid)?.Pgrp;
        return new ProcessFacts(process, StatusFields.RealUid(status), StatusFields.CpusAllowedList(status), pgrp);
    }
}

/// <summary>
/// Builds the <see cref="EntityState"/> records of one host's inventory view (pure: no I/O).
/// The view is keyed by entity id, the key of the compacted inventory topic.
/// </summary>
public static class InventoryBuilder
{
    /// <summary>
    /// Attribute naming the suspect group of a process that no tenant or container claims:
    /// <c>pgid:</c> and its process group id, digits only.
    /// </summary>
    public const string GroupAttribute = InventoryAttributes.Group;

    /// <summary>The whole view: the host plus one entry per process, keyed by entity id.</summary>
    public static IReadOnlyDictionary<string, EntityState> View(ProbeOptions options, HostTopology topology, TenantSelectors tenants,
        IReadOnlyDictionary<string, string> counterStatus, IEnumerable<ProcessFacts> processes, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(processes);
        var host = Host(options, topology, tenants, counterStatus, nowNs);
        var view = new Dictionary<string, EntityState>(StringComparer.Ordinal) { [host.entityId] = host };
        foreach (var p in processes)
        {
            var state = Process(options, p, tenants, nowNs);
            view[state.entityId] = state;
        }
        return view;
    }

    /// <summary>The host's record: online CPUs, SMT siblings, NUMA nodes, tenants and counter status.</summary>
    public static EntityState Host(ProbeOptions options, HostTopology topology, TenantSelectors tenants,
        IReadOnlyDictionary<string, string> counterStatus, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(tenants);
        ArgumentNullException.ThrowIfNull(counterStatus);
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["smtSiblings"] = string.Join(';', topology.SmtSiblings),
            ["numaNodes"] = topology.NumaNodes.Count.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (node, cpus) in topology.NumaNodes)
        {
            attributes["numa." + node.ToString(CultureInfo.InvariantCulture)] = cpus;
        }
        foreach (string tenant in tenants.Tenants)
        {
            attributes["tenant." + tenant] = string.Join(',', tenants.SelectorsOf(tenant));
        }
        return new EntityState
        {
            entityId = EntityIds.OfHost(options.Datacenter, options.HostId),
            kind = InventoryKinds.Host,
            entity = new EntityRef { datacenter = options.Datacenter, host = options.HostId },
            cpus = topology.OnlineCpus,
            levels = [],
            counterStatus = new Dictionary<string, string>(counterStatus, StringComparer.Ordinal),
            attributes = attributes,
            updatedAtNs = nowNs,
        };
    }

    /// <summary>A process's record; kind <see cref="InventoryKinds.Vm"/> when it runs a recognised QEMU guest.</summary>
    public static EntityState Process(ProbeOptions options, ProcessFacts facts, TenantSelectors tenants, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(tenants);
        var (p, id) = (facts.Process, facts.Process.Identity);
        var entity = id.ToEntity(options.Datacenter, options.HostId);
        // Every process can get an exclusive core; a container can be checkpointed and moved; a
        // QEMU process can be live-migrated.
        var levels = new List<string> { Levels.Core };
        if (id.Container is not null)
        {
            levels.Add(Levels.Container);
        }
        if (id.Vm is not null)
        {
            levels.Add(Levels.Vm);
        }
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        Put(attributes, "uid", facts.Uid?.ToString(CultureInfo.InvariantCulture));
        Put(attributes, "cgroup", p.CgroupPath);
        Put(attributes, "unit", p.Unit);
        Put(attributes, "vm.uuid", p.Vm?.Uuid);
        Put(attributes, "vm.note", p.Vm?.Note);
        Put(attributes, InventoryAttributes.VmMemoryMiB, p.Vm?.MemoryMiB?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string? tenant = tenants.Resolve(p, facts.Uid);
        if (tenant is null && id.Container is null)
        {
            Put(attributes, GroupAttribute, ProcessGroup(facts.Pgrp));
        }
        return new EntityState
        {
            entityId = EntityIds.Of(entity),
            kind = id.Vm is not null ? InventoryKinds.Vm : InventoryKinds.Process,
            entity = entity,
            tenant = tenant,
            cpus = facts.Cpus,
            levels = levels,
            counterStatus = new Dictionary<string, string>(StringComparer.Ordinal),
            attributes = attributes,
            updatedAtNs = nowNs,
        };
    }

    /// <summary>
    /// <c>pgid:N</c>, or null when unknown. A covert channel can span a shell job's processes
    /// (a parent and the children it forked share the group), so the planner treats them as one
    /// suspect. 0 means the group lies outside the probe's pid namespace: no group then.
    /// </summary>
    private static string? ProcessGroup(int? pgrp) =>
        pgrp is > 0 ? "pgid:" + pgrp.Value.ToString(CultureInfo.InvariantCulture) : null;

    private static void Put(Dictionary<string, string> attributes, string key, string? value)
    {
        if (value is not null)
        {
            attributes[key] = value;
        }
    }
}
