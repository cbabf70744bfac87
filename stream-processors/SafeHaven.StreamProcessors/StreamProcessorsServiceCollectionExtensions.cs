using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Configuration;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Detection;
using SafeHaven.StreamProcessors.MovingTarget;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.StreamProcessors;

/// <summary>Registers the stream processors (detector and planner), together or each alone.</summary>
public static class StreamProcessorsServiceCollectionExtensions
{
    /// <summary>
    /// Adds the detector and the planner as hosted services; the planner signs every command
    /// with <paramref name="signer"/>. Needs a <c>KafkaClients</c> and a <see cref="TimeProvider"/>
    /// registered. Idempotent.
    /// </summary>
    public static IServiceCollection AddSafeHavenStreamProcessors(this IServiceCollection services,
        DetectorOptions detector, PlannerOptions planner, RuleSet rules, CommandSigner signer)
    {
        services.TryAddSingleton(signer ?? throw new ArgumentNullException(nameof(signer)));
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(planner);
        planner.Validate();
        return services.AddSafeHavenDetector(detector, rules).AddSafeHavenPlanner(planner, signer);
    }

    /// <summary>
    /// Adds the detector alone (the <c>detect</c> role): samples in, detections out. Instances with the same
    /// <see cref="DetectorOptions.ApplicationId"/> share the samples topic's partitions through their consumer group
    /// (docs/SCALING.md). Needs a <c>KafkaClients</c> and a <see cref="TimeProvider"/> registered. Idempotent.
    /// </summary>
    public static IServiceCollection AddSafeHavenDetector(this IServiceCollection services, DetectorOptions detector, RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(rules);
        detector.Validate();
        services.TryAddSingleton(detector);
        services.TryAddSingleton(new DetectorEngine(rules));
        services.TryAddSingleton(new DetectorMetrics { Exported = true });
        services.TryAddSingleton<SafeHaven.Kafka.Clients.RoleFailures>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DetectorService>());
        return services;
    }

    /// <summary>
    /// Adds the planner alone (the <c>plan</c> role): ledger, lease and commands signed with <paramref name="signer"/>.
    /// Needs a <c>KafkaClients</c> and a <see cref="TimeProvider"/> registered. Idempotent.
    /// </summary>
    public static IServiceCollection AddSafeHavenPlanner(this IServiceCollection services, PlannerOptions planner, CommandSigner signer)
    {
        ArgumentNullException.ThrowIfNull(planner);
        planner.Validate();
        services.TryAddSingleton(signer ?? throw new ArgumentNullException(nameof(signer)));
        services.TryAddSingleton(planner);
        services.TryAddSingleton<PlannerReadiness>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PlannerService>());
        return services;
    }

    /// <summary>
    /// Turns on moving-target defence in the planner added by <see cref="AddSafeHavenPlanner(IServiceCollection, PlannerOptions, CommandSigner)"/>: the active planner
    /// plans every schedule's moves through its ledger, budgets and signed commands (docs/LEDGER.md). Idempotent.
    /// </summary>
    public static IServiceCollection AddSafeHavenMovingTarget(this IServiceCollection services, MovingTargetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.TryAddSingleton(options);
        return services;
    }

    /// <summary>
    /// Adds the detector with its settings bound from the <c>SafeHaven:Detector</c> section of the builder's
    /// configuration (strictly: an unknown key or a bad value names the key), validated at once.
    /// </summary>
    /// <exception cref="ArgumentException">A key is unknown, a value does not convert, or the options are invalid.</exception>
    public static IHostApplicationBuilder AddSafeHavenDetector(this IHostApplicationBuilder builder, RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenDetector(SectionBinder.Bind<DetectorOptions>(builder.Configuration, DetectorOptions.SectionName), rules);
        return builder;
    }

    /// <summary>Adds the planner with its settings bound from the <c>SafeHaven:Planner</c> section, validated at once.</summary>
    /// <exception cref="ArgumentException">A key is unknown, a value does not convert, or the options are invalid.</exception>
    public static IHostApplicationBuilder AddSafeHavenPlanner(this IHostApplicationBuilder builder, CommandSigner signer)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenPlanner(SectionBinder.Bind<PlannerOptions>(builder.Configuration, PlannerOptions.SectionName), signer);
        return builder;
    }

    /// <summary>
    /// Turns on moving-target defence in the planner with its schedules bound from the <c>SafeHaven:MovingTarget</c>
    /// section, validated at once.
    /// </summary>
    /// <exception cref="ArgumentException">A key is unknown, a value does not convert, or the options are invalid.</exception>
    public static IHostApplicationBuilder AddSafeHavenMovingTarget(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenMovingTarget(SectionBinder.Bind<MovingTargetOptions>(builder.Configuration, MovingTargetOptions.SectionName));
        return builder;
    }
}
