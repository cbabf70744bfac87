using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using SafeHaven.Actuators.Cpu;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Hosting;

/// <summary>Registers the host actuator.</summary>
public static class ActuatorsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the host actuator (cpuset detected on this host) and its Kafka service; only commands
    /// signed by a key of <paramref name="verifier"/> execute. Needs a
    /// <c>KafkaClients</c> and a <see cref="TimeProvider"/> registered. Idempotent.
    /// </summary>
    /// <exception cref="ArgumentException">The options do not fit this host.</exception>
    public static IServiceCollection AddSafeHavenHostActuator(this IServiceCollection services, HostActuatorOptions options,
        ActuatorIdentity identity, CommandVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton(identity);
        services.TryAddSingleton(sp => new HostActuator(options, new CoreIsolator(CpusetDetector.Detect(options.CgroupName)),
            sp.GetRequiredService<TimeProvider>(), verifier: verifier,
            journal: options.JournalPath is { } journal ? CommandJournal.Open(journal) : null));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, HostActuatorService>());
        return services;
    }
}
