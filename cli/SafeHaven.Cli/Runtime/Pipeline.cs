using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Host;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Clients;
using SafeHaven.Probes;
using SafeHaven.Probes.Hosting;
using SafeHaven.Security;
using SafeHaven.StreamProcessors;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.MovingTarget;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.Cli.Runtime;

/// <summary>Which roles one process runs, and their settings.</summary>
internal sealed record PipelineSpec(KafkaOptions Kafka)
{
    public ProbeOptions? Probe { get; init; }

    public DetectorOptions? Detector { get; init; }

    public PlannerOptions? Planner { get; init; }

    public RuleSet? Rules { get; init; }

    public HostActuatorOptions? Actuator { get; init; }

    public ActuatorIdentity? Identity { get; init; }

    public CommandSigner? Signer { get; init; }

    public CommandVerifier? Verifier { get; init; }

    public MovingTargetOptions? MovingTarget { get; init; }

    /// <summary>The SIEM projector (docs/SIEM.md); off unless set.</summary>
    public SafeHaven.StreamProcessors.Siem.SiemOptions? Siem { get; init; }

    /// <summary>Metrics, health endpoints and OTLP export (docs/OPERATIONS.md); none unless set.</summary>
    public SafeHaven.Telemetry.TelemetryOptions? Telemetry { get; init; }

    /// <summary>Role keys to seal with and keys to trust (docs/SECURITY.md); none unless set.</summary>
    public RoleSeals Seals { get; init; } = RoleSeals.None;

    /// <summary>
    /// For the roles of one process: keys for the probe of <paramref name="identity"/> and the actuator <paramref name="actuatorId"/>,
    /// kept under <paramref name="stateDirectory"/> (so a restart still verifies what was sealed before it), or only in
    /// memory when it is empty. <paramref name="planner"/>, when given (a planner with peers: its --signing-key, the key
    /// the other datacenters trust), seals the planner's records instead of the process's own planner key, which stays
    /// trusted (the ledger it sealed before still verifies).
    /// </summary>
    public static RoleSeals AllInOne(ActuatorIdentity identity, string actuatorId, string stateDirectory, RecordSigner? planner = null)
    {
        var seals = AllInOneOwn(identity, actuatorId, stateDirectory);
        return planner is null ? seals : new RoleSeals
        {
            Probe = seals.Probe, SampleMac = seals.SampleMac, Detector = seals.Detector, Actuator = seals.Actuator, Planner = planner,
            Verifier = seals.Verifier!.With(RecordVerifier.Trusting(planner)),
        };
    }

    private static RoleSeals AllInOneOwn(ActuatorIdentity identity, string actuatorId, string stateDirectory)
    {
        var host = SafeHaven.Core.EntityIds.OfHost(identity.Datacenter, identity.Host);
        if (string.IsNullOrEmpty(stateDirectory))
        {
            return RoleSeals.Ephemeral(host, actuatorId);
        }
        try
        {
            return RoleSeals.Persistent(Path.Join(stateDirectory, "record-keys"), host, actuatorId);
        }
        catch (Exception e) when (e is KeyFileException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--state-dir {stateDirectory}: cannot keep the roles' keys there: {e.Message}", e);
        }
    }
}

/// <summary>Builds the generic host that runs the chosen roles, logging to stderr.</summary>
internal static class Pipeline
{
    public static IHost Build(PipelineSpec spec, LogLevel level, Action<IServiceCollection>? extra = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        CliLogging.Configure(builder.Logging, level);
        // SIGINT and SIGTERM belong to the command line, whose token ends the verb and stops the host. The host's own
        // console lifetime would take SIGTERM, stop the services and leave the verb waiting forever.
        builder.Services.AddSingleton<IHostLifetime, CommandLineLifetime>();
        builder.Services.AddSingleton(TimeProvider.System);
        // Built now (bad settings fail here, not at first use) but registered through a factory: the container
        // disposes what its factories return, never an instance handed to it, and KafkaClients holds secrets and handles.
        var kafka = new KafkaClients(spec.Kafka) { Seals = spec.Seals };
        builder.Services.AddSingleton(_ => kafka);
        builder.Services.AddSingleton<RoleFailures>();
        if (spec.Telemetry is not null)
        {
            // Before the roles: hosted services start in order, and the health endpoint answers 503 while they start.
            SafeHaven.Telemetry.SafeHavenTelemetry.AddSafeHavenTelemetry(builder.Services, spec.Telemetry);
        }
        if (spec.Probe is not null)
        {
            builder.Services.AddSafeHavenProbe(spec.Probe);
        }
        if (spec.Detector is not null && spec.Planner is not null && spec.Rules is not null)
        {
            builder.Services.AddSafeHavenStreamProcessors(spec.Detector, spec.Planner, spec.Rules,
                spec.Signer ?? throw new UsageException("the planner needs a signing key (--signing-key)"));
        }
        else if (spec.Detector is not null && spec.Rules is not null)
        {
            builder.Services.AddSafeHavenDetector(spec.Detector, spec.Rules);
        }
        else if (spec.Planner is not null)
        {
            builder.Services.AddSafeHavenPlanner(spec.Planner,
                spec.Signer ?? throw new UsageException("the planner needs a signing key (--signing-key)"));
        }
        if (spec.Actuator is not null && spec.Identity is not null)
        {
            builder.Services.AddSafeHavenHostActuator(spec.Actuator, spec.Identity,
                spec.Verifier ?? throw new UsageException("the actuator needs trusted planner keys (--trusted-keys)"));
        }
        if (spec.MovingTarget is not null)
        {
            // Planned by the planner, through its ledger (docs/LEDGER.md): nothing to run without one.
            builder.Services.AddSafeHavenMovingTarget(spec.Planner is not null ? spec.MovingTarget
                : throw new UsageException("moving-target defence runs in the planner: use it with up or plan"));
        }
        if (spec.Siem is not null)
        {
            SafeHaven.StreamProcessors.Siem.SiemServiceCollectionExtensions.AddSafeHavenSiem(builder.Services, spec.Siem);
        }
        extra?.Invoke(builder.Services);
        TracingSetup.AddTo(builder.Services);
        var app = builder.Build();
        // Built now, so that the roles' first spans (they start with the host) already have their exporter.
        _ = app.Services.GetService<OpenTelemetry.Trace.TracerProvider>();
        return app;
    }
}

/// <summary>A host lifetime that leaves signals alone: the command line's cancellation token stops the host.</summary>
internal sealed partial class CommandLineLifetime(IHostApplicationLifetime lifetime, ILogger<CommandLineLifetime> logger) : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => LogStarted(logger));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Application started; SIGINT or SIGTERM stops it")]
    private static partial void LogStarted(ILogger logger);
}
