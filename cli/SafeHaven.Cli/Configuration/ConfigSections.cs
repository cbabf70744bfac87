using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Vm;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.MovingTarget;
using SafeHaven.StreamProcessors.Planning;
using SafeHaven.StreamProcessors.Siem;

namespace SafeHaven.Cli.Configuration;

/// <summary>
/// Every section a configuration may hold and the options class it binds onto: the one list that the load-time
/// check, examples/safehaven.yaml and the reference in docs/OPERATIONS.md are checked against. Nested settings
/// (<c>Kafka:Security</c>, <c>Kafka:Bounds</c>, <c>Container:Criu</c>, <c>Hypervisor:Migration</c>) belong to their section.
/// </summary>
internal static class ConfigSections
{
    /// <summary>Section name (<c>SafeHaven:&lt;Component&gt;</c>) and options class, in the order of the reference.</summary>
    public static IReadOnlyList<(string Name, Type Type)> All { get; } =
    [
        (KafkaOptions.SectionName, typeof(KafkaOptions)),
        (ProbeOptions.SectionName, typeof(ProbeOptions)),
        (DetectorOptions.SectionName, typeof(DetectorOptions)),
        (PlannerOptions.SectionName, typeof(PlannerOptions)),
        (MovingTargetOptions.SectionName, typeof(MovingTargetOptions)),
        (SiemOptions.SectionName, typeof(SiemOptions)),
        (HostActuatorOptions.SectionName, typeof(HostActuatorOptions)),
        (VmActuatorOptions.SectionName, typeof(VmActuatorOptions)),
        (ContainerActuatorOptions.SectionName, typeof(ContainerActuatorOptions)),
    ];
}
