using System.Globalization;
using Confluent.Kafka;
using SafeHaven.Core;
using SafeHaven.Cli.Runtime;
using SafeHaven.Cli.Tests.Commands;
using SafeHaven.Cli.Tests.Pipeline;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.DeadLetters;
using SafeHaven.Kafka.Embedded;
using SafeHaven.Kafka.Topics;
using SafeHaven.Probes.Hosting.Delivery;
using SafeHaven.StreamProcessors.Detection;
using Xunit.Abstractions;

namespace SafeHaven.Cli.Tests.Telemetry;

/// <summary>
/// The metrics a running <c>up</c> shows only when its broker misbehaves, scraped from <c>up</c>'s own endpoint. The
/// broker is the embedded one, hosted by this test (as the <c>broker</c> verb hosts it, same topics) so the test can
/// make it misbehave the way a real cluster does: go away (probe drops), drop records by retention before a consumer
/// read them (records lost), and answer that the dead-letter topic does not exist (dead letters that cannot be
/// published).
/// </summary>
[Collection(PoolCpuTests.Name)]
public sealed class UpBrokerFaultMetricsTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly Workloads _w = new();
    private readonly EmbeddedBroker _broker = EmbeddedBroker.Start();
    private readonly TopicNames _topics = new();
    private Scrape? _scrape;

    [SkippableFact]
    public async Task Up_whose_broker_goes_away_counts_the_samples_its_probe_drops_and_stays_live()
    {
        // Given up whose probe has room for 8 samples and publishes 5 a second
        var (up, scrape) = await StartUpAsync("SafeHaven:\n  Probe:\n    BufferSamples: 8\n");
        var now = "";
        async Task<bool> Scraped(Func<string, bool> condition) => condition(now = (await scrape.GetAsync("metrics"))?.Body ?? now);
        await RoleWait.Until(() => Scraped(m => Scrape.Value(m, ProbeMetrics.SamplesPublishedName) > 0), () => "samples delivered", up, Deadline);
        Assert.Equal(0d, Scrape.Value(now, ProbeMetrics.SamplesDroppedName));

        // When the broker goes away (its connections closed, new ones refused)
        _broker.SetBrokerDown(1);
        try
        {
            await RoleWait.Until(() => Scraped(m => Scrape.Series(m, ProbeMetrics.SamplesDroppedName)
                .Any(s => s.Labels.Contains("reason=\"buffer_full\"", StringComparison.Ordinal) && s.Value > 0)), () => "samples dropped for a full buffer", up, Deadline);
        }
        finally
        {
            _broker.SetBrokerUp(1);
        }
        var stalled = Scrape.Value(now, ProbeMetrics.SamplesPublishedName);
        output.WriteLine("dropped: " + string.Join(", ", Scrape.Series(now, ProbeMetrics.SamplesDroppedName).Select(s => $"{s.Labels} {s.Value}")) + $"; published {stalled}");

        // Then up lives through it, and once the broker is back its probe publishes again
        await RoleWait.Until(() => Scraped(m => Scrape.Value(m, ProbeMetrics.SamplesPublishedName) > stalled), () => "samples delivered again", up, Deadline);
        Assert.Equal(200, (await scrape.GetAsync("healthz"))?.Status);
    }

    [SkippableFact]
    public async Task Up_counts_the_records_retention_deleted_before_its_planner_read_them()
    {
        // Given up whose planner has read partition 0 of the results topic (a record it refuses: it is not sealed)
        var (up, scrape) = await StartUpAsync("");
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _broker.BootstrapServers }).Build();
        var results = new TopicPartition(_topics.Results, 0);
        var read = (await producer.ProduceAsync(results, new Message<string, byte[]> { Key = "not-a-result", Value = [0xC3, 0x01] })).Offset.Value;
        var now = "";
        async Task<bool> Scraped(Func<string, bool> condition) => condition(now = (await scrape.GetAsync("metrics"))?.Body ?? now);
        bool Of(string labels, string component, string topic) =>
            labels.Contains($"component=\"{component}", StringComparison.Ordinal) && labels.Contains($"topic=\"{topic}\"", StringComparison.Ordinal);
        await RoleWait.Until(() => Scraped(m => Scrape.Series(m, DeadLetterMetrics.SentName).Any(s => Of(s.Labels, "planner", _topics.Results))),
            () => "the planner reading the results topic", up, Deadline);

        // When up is stopped (SIGSTOP) while 7 MiB arrive on that partition: the broker keeps 5 MiB of a partition and
        // drops the oldest records (docs/MACHINE.md), so the log start passes the planner's position
        await RoleWait.Signal(up.Process, "STOP");
        try
        {
            Assert.True(await Poll.Until(() => RoleWait.State(up.Process.Id) == 'T', Deadline), "up never showed as stopped");
            var big = new byte[512 * 1024];
            for (var i = 0; i < 14; i++)
            {
                await producer.ProduceAsync(results, new Message<string, byte[]> { Key = $"flood-{i}", Value = big });
            }
        }
        finally
        {
            await RoleWait.Signal(up.Process, "CONT");
        }
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = _broker.BootstrapServers }).Build();
        using var reader = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _broker.BootstrapServers, GroupId = "metrics-lost-" + Guid.NewGuid().ToString("N") }).Build();
        var start = reader.QueryWatermarkOffsets(results, TimeSpan.FromSeconds(30)).Low.Value;
        Assert.True(start > read + 1, $"retention left the log start at {start}, not past the planner's next offset {read + 1}");

        // Then the planner reports the records it never saw, on that partition, at most those retention deleted
        double Lost() => Scrape.Series(now, LogStartWatch.RecordsLostName)
            .Where(s => Of(s.Labels, "planner", _topics.Results) && s.Labels.Contains("partition=\"0\"", StringComparison.Ordinal)).Sum(s => s.Value);
        await RoleWait.Until(() => Scraped(_ => Lost() > 0), () => "records lost counted", up, Deadline);
        output.WriteLine($"planner's next offset {read + 1}, log start after the flood {start}; counted lost {Lost()}");
        Assert.InRange(Lost(), 1, start - read - 1);
        Assert.Contains($"planner: lost {_topics.Results}[0] offsets {read + 1}..", up.Stderr, StringComparison.Ordinal);
        Assert.Equal(200, (await scrape.GetAsync("healthz"))?.Status);
    }

    [SkippableFact]
    public async Task Up_counts_the_dead_letters_it_cannot_publish_when_the_dead_letter_topic_is_gone()
    {
        // Given up, and a cluster that answers that the dead-letter topic does not exist (deleted, no topic created on
        // demand): no role has written a dead letter yet, so none knows the topic's partitions
        var (up, scrape) = await StartUpAsync("");
        _broker.SetTopicError(_topics.Dlq, ErrorCode.UnknownTopicOrPart);

        // When the planner and the host agent each read a record they must refuse
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = _broker.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(_topics.Results, new Message<string, byte[]> { Key = "not-a-result", Value = [0xC3, 0x01] });
            await producer.ProduceAsync(_topics.Commands, new Message<string, byte[]> { Key = "not-a-command", Value = [0xC3, 0x01] });
        }

        // Then each dead letter is counted as sent to the producer, then as failed once librdkafka gives up on the
        // topic (topic.metadata.propagation.max.ms, 30 s), and up goes on
        var now = "";
        bool Failed(string topic) => Scrape.Series(now, DeadLetterMetrics.FailedName).Any(s => s.Labels.Contains($"topic=\"{topic}\"", StringComparison.Ordinal) && s.Value > 0);
        await RoleWait.Until(async () =>
            {
                now = (await scrape.GetAsync("metrics"))?.Body ?? now;
                return Failed(_topics.Results) && Failed(_topics.Commands);
            },
            () => "dead-letter failures of the planner and the agent: " + string.Join(", ", Scrape.Series(now, DeadLetterMetrics.FailedName).Select(s => $"{s.Labels} {s.Value}")),
            up, Deadline);
        output.WriteLine("failures: " + string.Join(", ", Scrape.Series(now, DeadLetterMetrics.FailedName).Select(s => $"{s.Labels} {s.Value}")));
        Assert.Contains(Scrape.Series(now, DeadLetterMetrics.FailedName), s => s.Labels.Contains("component=\"planner\"", StringComparison.Ordinal));
        Assert.Contains(Scrape.Series(now, DeadLetterMetrics.SentName), s => s.Labels.Contains($"topic=\"{_topics.Commands}\"", StringComparison.Ordinal));
        Assert.Contains("could not dead-letter", up.Stderr, StringComparison.Ordinal);
        Assert.Equal(200, (await scrape.GetAsync("healthz"))?.Status);
    }

    // up on the test's broker, watching a quiet process, its metrics on a free port; returns once /readyz answers 200.
    private async Task<(RoleProcess Up, Scrape Scrape)> StartUpAsync(string configYaml)
    {
        Skip.IfNot(Environment.UserName == "root", "up's host agent moves processes between cpusets: needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset"), "no cgroup v1 cpuset hierarchy on this host");
        Skip.IfNot(File.Exists("/bin/kill"), "needs /bin/kill");
        await new MockTopicProvisioner(_broker).EnsureAsync(BrokerSession.AllTopics(_topics, new KafkaOptions().Partitions, new DetectorOptions().ApplicationId), default);
        var quiet = _w.Setsid("sleep", "600").Id.ToString(CultureInfo.InvariantCulture);
        var rules = Path.Join(_w.Dir.FullName, "rules.yaml");
        await File.WriteAllTextAsync(rules, "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 2000\n    scope: core\n");
        var config = Path.Join(_w.Dir.FullName, "up.yaml");
        await File.WriteAllTextAsync(config, configYaml);
        var port = Scrape.FreePort();
        var scrape = _scrape = new Scrape(port);
        var up = RoleProcess.Start(_w, ["up", "--bootstrap", _broker.BootstrapServers, "--pid", quiet, "--rules", rules,
            "--isolation-cpus", CpuList.Of([Environment.ProcessorCount - 1]).ToString(), "--cgroup", _w.Cgroup, "--period", "200ms",
            "--state-dir", Path.Join(_w.Dir.FullName, "state"), "--duration", "3m", "--metrics-port", port.ToString(CultureInfo.InvariantCulture), .. configYaml.Length > 0 ? ["--config", config] : Array.Empty<string>()]);
        await up.LineAsync("metrics and health:", Deadline);
        await RoleWait.Until(async () => (await scrape.GetAsync("readyz"))?.Status == 200, () => "/readyz answering 200", up, Deadline);
        return (up, scrape);
    }

    public void Dispose()
    {
        _scrape?.Dispose();
        _w.Dispose();
        _broker.Dispose();
    }
}
