namespace SafeHaven.Core;

/// <summary>Keys of <c>EntityState.attributes</c> that more than one role reads or writes.</summary>
public static class InventoryAttributes
{
    /// <summary>An actuator's host's network segment (a rack or subnet label), read by the planner's network scope.</summary>
    public const string NetworkSegment = "network.segment";

    /// <summary>On an <see cref="InventoryKinds.Actuator"/> record: the agent id the planner addresses its commands to.</summary>
    public const string ActuatorId = "actuatorId";

    /// <summary>On a hypervisor agent's record: its free guest memory in MiB, for VM placement.</summary>
    public const string Capacity = "capacity";

    /// <summary>On a host agent's record: the cpuset controller it drives (cgroup-v1, cgroup-v2, ...).</summary>
    public const string Cpuset = "cpuset";

    /// <summary>On a <see cref="InventoryKinds.Vm"/> record: the guest's memory in MiB.</summary>
    public const string VmMemoryMiB = "vm.memoryMiB";

    /// <summary>
    /// On a process record no tenant or container claims: its suspect group, <c>pgid:</c> and its process group id.
    /// </summary>
    public const string Group = "group";
}
