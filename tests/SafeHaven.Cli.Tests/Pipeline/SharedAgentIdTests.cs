using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SafeHaven.Actuators.Container;
using SafeHaven.Actuators.Hosting;
using SafeHaven.Actuators.Vm;
using SafeHaven.Cli.Runtime;
using SafeHaven.Core;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Topics;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Cli.Tests.Pipeline;

/// <summary>
/// A container agent and a hypervisor agent of one host share the default id (the host name) on the embedded
/// broker: each command keyed by that id gets exactly one result, from the agent of its level.
/// </summary>
public sealed class SharedAgentIdTests
{
    [Fact]
    public async Task Agents_of_different_levels_sharing_an_id_answer_each_command_once()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var ct = deadline.Token;
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var prefix = $"sid{suffix}.";
        using var broker = await BrokerSession.OpenAsync(null, new TopicNames(prefix).All(1), ct);
        var kafka = new KafkaOptions { BootstrapServers = broker.Bootstrap, TopicPrefix = prefix, Partitions = 1 };
        using var signer = CommandSigner.Ephemeral(out var verifier);
        var root = Path.Join("/tmp", "shsid-" + suffix[..8]);
        var container = new ContainerActuatorOptions
        {
            Id = "h-x", Agents = { ["h-x"] = Path.Join(root, "cx"), ["h-y"] = Path.Join(root, "cy") }, Criu = new CriuOptions { Binary = "/nonexistent/criu" },
        };
        var hypervisor = new VmActuatorOptions { Id = "h-x", Agents = { ["h-x"] = Path.Join(root, "vx"), ["h-y"] = Path.Join(root, "vy") } };
        var identity = new ActuatorIdentity("dc1", "h-x");
        try
        {
            using var app = Runtime.Pipeline.Build(new PipelineSpec(kafka), LogLevel.Warning, services =>
            {
                services.AddSafeHavenContainerAgent(container, identity, verifier);
                services.AddSafeHavenHypervisor(hypervisor, identity, verifier);
            });
            await app.StartAsync(ct);
            using var clients = new KafkaClients(kafka);
            using var consumer = new ConsumerBuilder<string, byte[]>(clients.Consumer("observer-" + suffix, "observer")).Build();
            consumer.Subscribe(clients.Topics.Results);
            using var producer = new ProducerBuilder<string, byte[]>(clients.Producer("test-" + suffix)).Build();
            var codec = new SingleObjectCodec<IsolationCommand>();
            async Task Send(string id, string level, EntityRef entity)
            {
                var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
                var cmd = new IsolationCommand
                {
                    commandId = id, entity = entity, level = level, action = Actions.Isolate, source = "h-x", target = "h-y",
                    issuedAtNs = now, deadlineNs = now + 60_000_000_000, dryRun = false, reasons = [], signature = [],
                };
                signer.Sign(cmd);
                await producer.ProduceAsync(clients.Topics.Commands, new Message<string, byte[]> { Key = "h-x", Value = codec.Encode(cmd) }, ct);
            }
            var (c1, c2, c3) = ($"c1-{suffix}", $"c2-{suffix}", $"c3-{suffix}");
            await Send(c1, Levels.Container, new EntityRef { datacenter = "dc1", host = "h-x", container = "web" });
            await Send(c2, Levels.Vm, new EntityRef { datacenter = "dc1", host = "h-x", vm = "nope" });
            await Send(c3, Levels.Container, new EntityRef { datacenter = "dc1", host = "h-x", container = "db" });

            // Barrier: each agent answers in command order, so once the hypervisor answered c2 and the container
            // agent c3, any answer either gave to an earlier command is already on the (single) partition.
            var results = await ConsumeLoop.OnOwnThread(() => TopicReader.Until<IsolationResult>(consumer, clients.Topics.Results, r => r.Any(x => x.commandId == c2) && r.Any(x => x.commandId == c3), ct), ct);

            Assert.Equal([c1, c2, c3], results.Select(r => r.commandId).Order());
            Assert.Contains("container moves are unavailable here", results.Single(r => r.commandId == c1).error, StringComparison.Ordinal);
            Assert.Contains("not a guest of agent 'h-x'", results.Single(r => r.commandId == c2).error, StringComparison.Ordinal);
            consumer.Close();
            await app.StopAsync(CancellationToken.None);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
