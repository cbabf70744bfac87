using System.CommandLine;
using SafeHaven.Cli.Runtime;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Topics;
using SafeHaven.StreamProcessors.Detection;

namespace SafeHaven.Cli.Commands;

/// <summary><c>safehaven broker</c>: the embedded broker alone, with every topic created.</summary>
internal static class BrokerCommand
{
    public static Command Create()
    {
        var brokers = new Option<int>("--brokers") { Description = "Number of brokers in the cluster", DefaultValueFactory = _ => 1 };
        var partitions = CommonOptions.Partitions();
        var prefix = CommonOptions.Prefix();
        var duration = CommonOptions.Duration();
        var applicationIds = new Option<string[]>("--application-id")
        {
            Description = "Detector application ids whose internal topics to create (repeatable; default safehaven-detector): one per detect group",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("broker",
            "Run the embedded broker (librdkafka's mock cluster: in memory only, at most 5 MiB or 100,000 batches per partition, older data dropped). " +
            "Prints 'bootstrap: HOST:PORT[,…]' as its first stdout line.")
        {
            brokers, partitions, prefix, duration, applicationIds,
        };
        command.SetAction(async (parse, ct) =>
        {
            var n = parse.GetValue(brokers);
            if (n is < 1 or > 16)
            {
                throw new UsageException($"--brokers must be 1..16, got {n}");
            }
            var names = new TopicNames(parse.GetValue(prefix)!);
            var stopAfter = CommonOptions.ParseDuration(parse.GetValue(duration), "--duration");
            using var broker = EmbeddedBroker.Start(n);
            var ids = parse.GetValue(applicationIds) is { Length: > 0 } given ? given : [new DetectorOptions().ApplicationId];
            if (ids.FirstOrDefault(id => !SafeHaven.Core.Identifiers.IsToken(id)) is { } bad)
            {
                throw new UsageException($"--application-id '{SafeHaven.Core.Identifiers.Printable(bad)}' is not a valid id");
            }
            var topics = ids.SelectMany(id => BrokerSession.AllTopics(names, parse.GetValue(partitions), id)).DistinctBy(t => t.Name).ToList();
            await new MockTopicProvisioner(broker).EnsureAsync(topics, ct).ConfigureAwait(false);
            Console.Out.WriteLine($"bootstrap: {broker.BootstrapServers}");
            Console.Out.Flush();
            Console.Error.WriteLine($"embedded broker: {n} broker(s), {topics.Count} topics ({string.Join(", ", topics.Select(t => t.Name))}). " +
                "Data is kept in memory only; each partition keeps at most 5 MiB or 100,000 batches and silently drops older data.");
            await Wait.UntilCancelledOr(stopAfter, ct).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }
}
