using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Host.Cpu;
using SafeHaven.Actuators.Vm;
using SafeHaven.Kafka.Clients;
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
        ArgumentNullException.ThrowIfNull(identity);
        // Validate before anything below turns the id or state directory into a path.
        options.Validate(OnlineCpus.Read());
        Core.Identifiers.RequireToken(identity.Datacenter, "datacenter");
        Core.Identifiers.RequireToken(identity.Host, "host");
        ArgumentNullException.ThrowIfNull(options);
        services.TryAddSingleton(options);
        services.TryAddSingleton(identity);
        // The journal through a factory-made holder: the container disposes it (and so closes the file) with the host.
        services.TryAddSingleton(_ => new HostJournal(options.JournalPath is { } path ? CommandJournal.Open(path) : null));
        services.TryAddSingleton(sp =>
        {
            var isolator = new CoreIsolator(CpusetDetector.Detect(options.CgroupName));
            return new HostActuator(options, isolator, sp.GetRequiredService<TimeProvider>(), verifier: verifier,
                journal: sp.GetRequiredService<HostJournal>().Journal, levels: HostLevels.Detect(isolator, options.Pool));
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, HostActuatorService>());
        return services;
    }

    /// <summary>
    /// Adds one hypervisor agent (VM level, plain QEMU guests through QMP) and its Kafka service; only commands
    /// signed by a key of <paramref name="verifier"/> execute. Call once per agent: several agents may share a
    /// process (the demo runs a source and a destination side by side). Needs a <c>KafkaClients</c> and a
    /// <see cref="TimeProvider"/> registered.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">The agent's id, the agent → guest directory map and migration limits.</param>
    /// <param name="identity">Datacenter and host the agent announces in the inventory.</param>
    /// <param name="verifier">Trusted planner keys.</param>
    /// <param name="journalPath">File of started and finished commands (survives restarts), or null for memory only.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static IServiceCollection AddSafeHavenHypervisor(this IServiceCollection services, VmActuatorOptions options,
        ActuatorIdentity identity, CommandVerifier verifier, string? journalPath = null)
    {
        AgentRegistration.Require(options, static o => o.Validate(), identity, verifier);
        services.AddSingleton<IHostedService>(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            var journal = journalPath is null ? null : CommandJournal.Open(journalPath);
            var actuator = new VmActuator(options, time, verifier, journal);
            return new HypervisorService(sp.GetRequiredService<KafkaClients>(), actuator, journal, options, identity, time,
                sp.GetRequiredService<ILogger<HypervisorService>>());
        });
        return services;
    }

    /// <summary>
    /// Adds the host actuator with its settings bound from the <c>SafeHaven:Actuator</c> section of the builder's
    /// configuration (strictly: an unknown key or a bad value names the key) and validated against this host, so that
    /// a bad setting fails at start, not at the first command.
    /// </summary>
    /// <exception cref="SafeHaven.Kafka.Configuration.ConfigurationKeyException">A key is unknown or its value does not convert.</exception>
    /// <exception cref="ArgumentException">The bound options do not fit this host.</exception>
    public static IHostApplicationBuilder AddSafeHavenHostActuator(this IHostApplicationBuilder builder, ActuatorIdentity identity, CommandVerifier verifier)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenHostActuator(SafeHaven.Kafka.Configuration.SectionBinder.Bind<HostActuatorOptions>(builder.Configuration, HostActuatorOptions.SectionName),
            identity, verifier);
        return builder;
    }

    /// <summary>Adds one hypervisor agent with its settings bound from the <c>SafeHaven:Hypervisor</c> section, validated at once.</summary>
    /// <exception cref="ArgumentException">A key is unknown, a value does not convert, or the options are invalid.</exception>
    public static IHostApplicationBuilder AddSafeHavenHypervisor(this IHostApplicationBuilder builder, ActuatorIdentity identity, CommandVerifier verifier,
        string? journalPath = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenHypervisor(SafeHaven.Kafka.Configuration.SectionBinder.Bind<VmActuatorOptions>(builder.Configuration, VmActuatorOptions.SectionName),
            identity, verifier, journalPath);
        return builder;
    }
}
