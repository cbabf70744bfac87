using Confluent.Kafka;
using SafeHaven.Kafka.Embedded;

namespace SafeHaven.Kafka.Tests.Embedded;

/// <summary>Real Confluent clients talking to the embedded broker over TCP.</summary>
public sealed class EmbeddedBrokerClientTests
{
    [Fact]
    public async Task Producer_and_consumer_round_trip_records_over_tcp()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("roundtrip");
        broker.CreateTopic(topic, partitions: 3);
        const int count = 500;

        using (var producer = new ProducerBuilder<string, string>(TestKafka.Producer(broker.BootstrapServers)).Build())
        {
            var deliveries = Enumerable.Range(0, count)
                .Select(i => producer.ProduceAsync(topic, new Message<string, string> { Key = $"k{i % 7}", Value = $"v{i}" }))
                .ToList();
            var results = await Task.WhenAll(deliveries).WaitAsync(TestKafka.Deadline);
            Assert.All(results, r => Assert.Equal(PersistenceStatus.Persisted, r.Status));
            Assert.Equal(3, results.Select(r => r.Partition.Value).Distinct().Count());
        }

        var seen = new HashSet<string>();
        using var consumer = new ConsumerBuilder<string, string>(TestKafka.Consumer(broker.BootstrapServers, TestKafka.Unique("g"))).Build();
        consumer.Subscribe(topic);
        var deadline = DateTime.UtcNow + TestKafka.Deadline;
        while (seen.Count < count && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (record is not null)
            {
                Assert.True(seen.Add(record.Message.Value), $"duplicate {record.Message.Value}");
            }
        }

        consumer.Close();
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"v{i}").ToHashSet(), seen);
    }

    [Fact]
    public void Topics_created_through_the_mock_are_in_metadata_with_their_partition_count()
    {
        using var broker = EmbeddedBroker.Start(brokers: 3);
        var small = TestKafka.Unique("meta-small");
        var large = TestKafka.Unique("meta-large");
        broker.CreateTopic(small, partitions: 1);
        broker.CreateTopic(large, partitions: 12, replicationFactor: 3);

        using var admin = TestKafka.Admin(broker.BootstrapServers);
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(10));

        Assert.Equal(3, broker.BrokerCount);
        Assert.Equal([1, 2, 3], metadata.Brokers.Select(b => b.BrokerId).Order());
        Assert.Single(metadata.Topics.Single(t => t.Topic == small).Partitions);
        var largeMeta = metadata.Topics.Single(t => t.Topic == large);
        Assert.Equal(12, largeMeta.Partitions.Count);
        Assert.All(largeMeta.Partitions, p => Assert.Equal(3, p.Replicas.Length));
    }

    [Fact]
    public async Task Produce_while_the_only_broker_is_down_completes_only_after_it_is_up()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("updown");
        broker.CreateTopic(topic, partitions: 1);
        var sawBrokersDown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var producer = new ProducerBuilder<Null, string>(TestKafka.Producer(broker.BootstrapServers))
            .SetErrorHandler((_, e) =>
            {
                if (e.Code == ErrorCode.Local_AllBrokersDown)
                {
                    sawBrokersDown.TrySetResult();
                }
            })
            .Build();

        // A first delivery proves the path works and leaves the producer with a live connection.
        var first = await producer.ProduceAsync(topic, new Message<Null, string> { Value = "before" }).WaitAsync(TestKafka.Deadline);
        Assert.Equal(0, first.Offset.Value);

        broker.SetBrokerDown(1);
        var pending = producer.ProduceAsync(topic, new Message<Null, string> { Value = "during" });
        await sawBrokersDown.Task.WaitAsync(TestKafka.Deadline);
        // The client knows the broker is gone; give it a bounded chance to (wrongly) deliver anyway.
        await Assert.ThrowsAsync<TimeoutException>(() => pending.WaitAsync(TimeSpan.FromSeconds(1)));

        broker.SetBrokerUp(1);
        var second = await pending.WaitAsync(TestKafka.Deadline);
        Assert.Equal(PersistenceStatus.Persisted, second.Status);
        Assert.Equal(1, second.Offset.Value);
    }

    [Fact]
    public async Task Pushed_non_retriable_produce_error_reaches_the_delivery_report()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("errors");
        broker.CreateTopic(topic, partitions: 1);
        using var producer = new ProducerBuilder<Null, string>(TestKafka.Producer(broker.BootstrapServers)).Build();

        broker.PushRequestErrors(0, ErrorCode.MsgSizeTooLarge);
        var failure = await Assert.ThrowsAsync<ProduceException<Null, string>>(
            () => producer.ProduceAsync(topic, new Message<Null, string> { Value = "refused" }).WaitAsync(TestKafka.Deadline));
        Assert.Equal(ErrorCode.MsgSizeTooLarge, failure.Error.Code);
        Assert.Equal(PersistenceStatus.NotPersisted, failure.DeliveryResult.Status);

        // The pushed error was used up by that one request.
        var next = await producer.ProduceAsync(topic, new Message<Null, string> { Value = "accepted" }).WaitAsync(TestKafka.Deadline);
        Assert.Equal(PersistenceStatus.Persisted, next.Status);
    }

    [Fact]
    public async Task Pushed_errors_are_consumed_in_order_and_leader_changes_are_retried_even_without_retries()
    {
        using var broker = EmbeddedBroker.Start();
        var topic = TestKafka.Unique("retriable");
        broker.CreateTopic(topic, partitions: 1);
        var config = TestKafka.Producer(broker.BootstrapServers);
        config.MessageSendMaxRetries = 0;
        using var producer = new ProducerBuilder<Null, string>(config).Build();

        // librdkafka does not count NotLeaderForPartition against the retry budget, so the first
        // produce eats all three of them and then fails on RequestTimedOut, which it does count.
        broker.PushRequestErrors(
            0,
            ErrorCode.NotLeaderForPartition, ErrorCode.NotLeaderForPartition, ErrorCode.NotLeaderForPartition,
            ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas);
        var codes = new List<ErrorCode>();
        for (var i = 0; i < 3; i++)
        {
            try
            {
                var report = await producer.ProduceAsync(topic, new Message<Null, string> { Value = $"m{i}" }).WaitAsync(TestKafka.Deadline);
                Assert.Equal(PersistenceStatus.Persisted, report.Status);
                codes.Add(ErrorCode.NoError);
            }
            catch (ProduceException<Null, string> e)
            {
                codes.Add(e.Error.Code);
            }
        }

        Assert.Equal([ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas, ErrorCode.NoError], codes);
    }

    [Fact]
    public async Task An_error_pushed_to_one_broker_refuses_a_write_to_the_topic_it_leads_and_nothing_else()
    {
        using var broker = EmbeddedBroker.Start(brokers: 2);
        var (refused, other) = (TestKafka.Unique("refused"), TestKafka.Unique("other"));
        broker.CreateTopic(refused, partitions: 1);
        broker.CreateTopic(other, partitions: 1);
        broker.SetPartitionLeader(refused, 0, 2);
        broker.SetPartitionLeader(other, 0, 1);
        // Idempotent, as the roles' producers are: a refused write must not leave the producer unusable
        var config = TestKafka.Producer(broker.BootstrapServers);
        config.EnableIdempotence = true;
        using var producer = new ProducerBuilder<Null, string>(config).Build();
        foreach (var topic in new[] { refused, other })
        {
            Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(topic, new Message<Null, string> { Value = "before" }).WaitAsync(TestKafka.Deadline)).Status);
        }

        broker.PushBrokerRequestError(2, 0, ErrorCode.TopicAuthorizationFailed);
        Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(other, new Message<Null, string> { Value = "other" }).WaitAsync(TestKafka.Deadline)).Status);
        var failure = await Assert.ThrowsAsync<ProduceException<Null, string>>(
            () => producer.ProduceAsync(refused, new Message<Null, string> { Value = "refused" }).WaitAsync(TestKafka.Deadline));
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, failure.Error.Code);

        // The producer still writes elsewhere; the refused topic stays refused to it for a while (librdkafka keeps the
        // topic's error until its metadata is refreshed), then takes writes again: the broker's error was used up
        Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(other, new Message<Null, string> { Value = "after" }).WaitAsync(TestKafka.Deadline)).Status);
        var refusedAgain = 0;
        Assert.True(await Poll.Until(async () =>
        {
            try
            {
                return (await producer.ProduceAsync(refused, new Message<Null, string> { Value = "after" }).WaitAsync(TestKafka.Deadline)).Status == PersistenceStatus.Persisted;
            }
            catch (ProduceException<Null, string> e) when (e.Error.Code == ErrorCode.TopicAuthorizationFailed)
            {
                refusedAgain++;
                return false;
            }
        }, TestKafka.Deadline, TimeSpan.FromMilliseconds(100)), $"the topic never took a write again ({refusedAgain} more refusals)");
    }
}
