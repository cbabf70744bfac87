using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>A container agent on a host where criu cannot run: it announces no level, and says why, on the embedded broker.</summary>
public sealed class ContainerAgentInventoryTests
{
    [Fact]
    public async Task Without_criu_the_agent_announces_no_level_with_the_reason_and_fails_moves_with_it()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = deadline.Token;
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var prefix = $"cti{suffix}.";
        using var broker = await BrokerSession.OpenAsync(null, new TopicNames(prefix).All(1), ct);
        var kafka = new KafkaOptions { BootstrapServers = broker.Bootstrap, TopicPrefix = prefix, Partitions = 1 };
        using var signer = CommandSigner.Ephemeral(out var verifier);
        var root = Path.Join(Path.GetTempPath(), "shci-" + suffix);
        var options = new ContainerActuatorOptions
        {
            Id = "ct-x", Agents = { ["ct-x"] = Path.Join(root, "x"), ["ct-y"] = Path.Join(root, "y") }, Criu = new CriuOptions { Binary = "/nonexistent/criu" },
        };
        using var app = Runtime.Pipeline.Build(new PipelineSpec(kafka), LogLevel.Warning,
            services => services.AddSafeHavenContainerAgent(options, new ActuatorIdentity("dc1", "h-x"), verifier));
        await app.StartAsync(ct);
        using var clients = new KafkaClients(kafka);
        using var consumer = new ConsumerBuilder<string, byte[]>(clients.Consumer("observer-" + suffix, "observer")).Build();
        consumer.Subscribe([clients.Topics.Inventory, clients.Topics.Results]);

        var announced = await ConsumeLoop.OnOwnThread(() => TopicReader.Next<EntityState>(consumer, clients.Topics.Inventory, ct), ct);

        Assert.Equal(("dc1/h-x/actuator/ct-x", "actuator"), (announced.entityId, announced.kind));
        Assert.Empty(announced.levels);
        Assert.Equal(("ct-x", "container", "false"), (announced.attributes["actuatorId"], announced.attributes["agent"], announced.attributes["lazyPages"]));
        Assert.StartsWith("unavailable: /nonexistent/criu is missing", announced.attributes["criu"], StringComparison.Ordinal);

        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        var move = new IsolationCommand
        {
            commandId = "c-" + suffix, entity = new EntityRef { datacenter = "dc1", host = "h-x", container = "web" }, level = Levels.Container,
            action = Actions.Isolate, source = "ct-x", target = "ct-y", issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = false,
            reasons = [], signature = [],
        };
        signer.Sign(move);
        using (var producer = new ProducerBuilder<string, byte[]>(clients.Producer("test-" + suffix)).Build())
        {
            await producer.ProduceAsync(clients.Topics.Commands, new Message<string, byte[]> { Key = "ct-x", Value = new SingleObjectCodec<IsolationCommand>().Encode(move) }, ct);
        }
        var result = await ConsumeLoop.OnOwnThread(() => TopicReader.Next<IsolationResult>(consumer, clients.Topics.Results, ct), ct);

        Assert.Equal((move.commandId, ResultStatus.Failed, "ct-x"), (result.commandId, result.status, result.actuator));
        Assert.Contains("container moves are unavailable here: /nonexistent/criu is missing", result.error, StringComparison.Ordinal);
        consumer.Close();
        await app.StopAsync(CancellationToken.None);
    }
}
