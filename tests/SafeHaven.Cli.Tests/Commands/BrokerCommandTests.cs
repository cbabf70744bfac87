using Confluent.Kafka;

namespace SafeHaven.Cli.Tests.Commands;

public sealed class BrokerCommandTests
{
    [Fact]
    public async Task Prints_bootstrap_first_and_serves_the_SafeHaven_topics_over_Kafka()
    {
        using var broker = System.Diagnostics.Process.Start(CliRunner.StartInfo("broker", "--duration", "60s"))!;
        try
        {
            // Given the first stdout line
            var first = await broker.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(first);
            Assert.Matches(@"^bootstrap: [0-9.]+:\d+$", first);
            var bootstrap = first["bootstrap: ".Length..];

            // When a plain Kafka client asks for metadata and produces
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
            var topics = admin.GetMetadata(TimeSpan.FromSeconds(10)).Topics.Select(t => t.Topic).ToHashSet();
            using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap }).Build();
            var delivered = await producer.ProduceAsync("safehaven.samples", new Message<string, string> { Key = "h", Value = "v" });

            // Then every docs/DESIGN.md §3 topic and the detector's changelog exist, and the produce landed
            foreach (var t in new[] { "samples", "inventory", "detections", "commands", "results", "siem", "dlq" })
            {
                Assert.Contains("safehaven." + t, topics);
            }
            Assert.Contains("safehaven-detector-rule-state-changelog", topics);
            Assert.Equal(PersistenceStatus.Persisted, delivered.Status);
        }
        finally
        {
            broker.Kill(entireProcessTree: true);
            await broker.WaitForExitAsync();
        }
    }
}
