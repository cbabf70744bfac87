using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>Registers the SIEM projector.</summary>
public static class SiemServiceCollectionExtensions
{
    /// <summary>
    /// Adds the SIEM projector (<c>detections</c> and <c>results</c> → <c>siem</c>) as a hosted service, with its
    /// <see cref="SiemMetrics"/>. Needs a <c>KafkaClients</c> and a <see cref="TimeProvider"/> registered. Idempotent.
    /// </summary>
    public static IServiceCollection AddSafeHavenSiem(this IServiceCollection services, SiemOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.TryAddSingleton(options);
        services.TryAddSingleton(new SiemMetrics { Exported = true });
        services.TryAddSingleton<SafeHaven.Kafka.Clients.RoleFailures>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SiemService>());
        return services;
    }

    /// <summary>Adds the SIEM projector with its settings bound from the <c>SafeHaven:Siem</c> section, validated at once.</summary>
    /// <exception cref="ArgumentException">A key is unknown, a value does not convert, or the options are invalid.</exception>
    public static IHostApplicationBuilder AddSafeHavenSiem(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenSiem(SafeHaven.Kafka.Configuration.SectionBinder.Bind<SiemOptions>(builder.Configuration, SiemOptions.SectionName));
        return builder;
    }
}
