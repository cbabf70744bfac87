using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Kafka.Clients;

namespace SafeHaven.Probes.Hosting;

/// <summary>Runs the <see cref="Sampler"/> with a <see cref="KafkaSampleSink"/>.</summary>
internal sealed class ProbeService(KafkaClients kafka, ProbeOptions options, TimeProvider time, ILogger<Sampler> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var sink = new KafkaSampleSink(kafka, "probe-" + options.HostId, options.BufferSamples, logger, time);
        using var sampler = new Sampler(options, time, sink, logger);
        using var inventory = new InventoryPublisher(kafka, options, time, logger);
        // The inventory follows what the sampler watches, on its own timer at the same period.
        // If either loop fails the other stops too, and the failure surfaces instead of a probe
        // that silently keeps only half its job.
        using var both = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var loops = new[] { sampler.RunAsync(both.Token), inventory.RunAsync(sampler, both.Token) };
        try
        {
            await Task.WhenAny(loops).ConfigureAwait(false);
            await both.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>Registers the probe.</summary>
public static class ProbesServiceCollectionExtensions
{
    /// <summary>Adds the probe as a hosted service; needs <c>KafkaClients</c> and a <see cref="TimeProvider"/>. Idempotent.</summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public static Microsoft.Extensions.DependencyInjection.IServiceCollection AddSafeHavenProbe(
        this Microsoft.Extensions.DependencyInjection.IServiceCollection services, ProbeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton(services, options);
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddEnumerable(services,
            Microsoft.Extensions.DependencyInjection.ServiceDescriptor.Singleton<IHostedService, ProbeService>());
        return services;
    }

    /// <summary>
    /// Adds the probe with its settings bound from the <c>SafeHaven:Probe</c> section of the builder's configuration
    /// (strictly: an unknown key or a bad value names the key), validated before it is registered.
    /// </summary>
    /// <exception cref="ArgumentException">A key is unknown, a value does not convert, or the options are invalid.</exception>
    public static IHostApplicationBuilder AddSafeHavenProbe(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSafeHavenProbe(SafeHaven.Kafka.Configuration.SectionBinder.Bind<ProbeOptions>(builder.Configuration, ProbeOptions.SectionName));
        return builder;
    }
}
