namespace SafeHaven.Core;

/// <summary>Values of <c>EntityState.kind</c>: what an inventory record describes.</summary>
public static class InventoryKinds
{
    /// <summary>The host itself.</summary>
    public const string Host = "host";

    /// <summary>A plain (or containerised) process.</summary>
    public const string Process = "process";

    /// <summary>A QEMU process: the process is the VM.</summary>
    public const string Vm = "vm";

    /// <summary>An agent (host, container or hypervisor) announcing itself to the planner.</summary>
    public const string Actuator = "actuator";
}
