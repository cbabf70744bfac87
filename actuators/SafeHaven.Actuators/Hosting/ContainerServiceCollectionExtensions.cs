using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Container;
using SafeHaven.Kafka.Clients;
using SafeHaven.Security;

namespace SafeHaven.Actuators.Hosting;

/// <summary>Registers container agents.</summary>
public static class ContainerServiceCollectionExtensions
{
    /// <summary>
    /// Adds one container agent (container level, CRIU checkpoint/restore) and its Kafka service; only commands signed
    /// by a key of <paramref name="verifier"/> execute. Call once per agent: several agents may share a process (a
    /// source and a target side by side). Needs a <c>KafkaClients</c> and a <see cref="TimeProvider"/> registered.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">The agent's id, the agent → state directory map and the criu settings.</param>
    /// <param name="identity">Datacenter and host the agent announces in the inventory.</param>
    /// <param name="verifier">Trusted planner keys.</param>
    /// <param name="journalPath">File of started and finished commands (survives restarts), or null for memory only.</param>
    /// <exception cref="ArgumentException">The options or the identity are invalid, or the journal path is not absolute.</exception>
    public static IServiceCollection AddSafeHavenContainerAgent(this IServiceCollection services, ContainerActuatorOptions options,
        ActuatorIdentity identity, CommandVerifier verifier, string? journalPath = null)
    {
        AgentRegistration.Require(options, static o => o.Validate(), identity, verifier);
        if (journalPath is not null && !Path.IsPathFullyQualified(journalPath))
        {
            throw new ArgumentException($"journal path '{journalPath}' is not absolute", nameof(journalPath));
        }
        services.AddSingleton<IHostedService>(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            var journal = journalPath is null ? null : CommandJournal.Open(journalPath);
            var actuator = new ContainerActuator(options, time, verifier, journal);
            return new ContainerAgentService(sp.GetRequiredService<KafkaClients>(), actuator, journal, options, identity, time,
                sp.GetRequiredService<ILogger<ContainerAgentService>>());
        });
        return services;
    }

    /// <summary>Adds one container agent with its settings bound from the <c>SafeHaven:Container</c> section, validated at once.</summary>
    /// <exception cref="ArgumentException">A key is unknown, a value does not convert, or the options are invalid.</exception>
    public static IHostApplicationBuilder AddSafeHavenContainerAgent(this IHostApplicationBuilder builder, ActuatorIdentity identity, CommandVerifier verifier,
        string? journalPath = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenContainerAgent(SafeHaven.Kafka.Configuration.SectionBinder.Bind<ContainerActuatorOptions>(builder.Configuration, ContainerActuatorOptions.SectionName),
            identity, verifier, journalPath);
        return builder;
    }
}
