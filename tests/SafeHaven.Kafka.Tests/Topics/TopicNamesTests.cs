using SafeHaven.Kafka.Topics;

namespace SafeHaven.Kafka.Tests.Topics;

public sealed class TopicNamesTests
{
    [Fact]
    public void Default_names_are_those_of_the_design()
    {
        var names = new TopicNames();
        Assert.Equal(
            ["safehaven.samples", "safehaven.inventory", "safehaven.detections", "safehaven.commands",
             "safehaven.results", "safehaven.placements", "safehaven.siem", "safehaven.dlq"],
            new[] { names.Samples, names.Inventory, names.Detections, names.Commands, names.Results, names.Placements, names.Siem, names.Dlq });
    }

    [Fact]
    public void All_uses_the_prefix_and_partition_count_and_compacts_inventory_and_the_single_partition_ledger()
    {
        var names = new TopicNames("lab-7_");
        var all = names.All(6);
        Assert.Equal(10, all.Count);
        Assert.All(all, s => Assert.StartsWith("lab-7_", s.Name, StringComparison.Ordinal));
        Assert.All(all.Where(s => s.Name != names.Placements && s.Name != names.ActionLeases && s.Name != names.Reservations), s => Assert.Equal(6, s.Partitions));
        Assert.Equal(new TopicSpec("lab-7_action-leases", 1, Compacted: true, TopicNames.ActionLeaseCompactionLag), all.Single(s => s.Name == names.ActionLeases));
        Assert.Equal(new TopicSpec("lab-7_reservations", 1), all.Single(s => s.Name == names.Reservations));
        Assert.Equal(new TopicSpec("lab-7_placements", 1, Compacted: true), all.Single(s => s.Name == names.Placements));
        Assert.Equal([names.Inventory, names.Placements, names.ActionLeases], all.Where(s => s.Compacted).Select(s => s.Name));
        Assert.Equal(new TopicSpec("lab-7_dlq", 6), all.Single(s => s.Name == names.Dlq));
    }

    [Fact]
    public void The_action_lease_topic_is_created_with_a_compaction_lag_no_lease_can_outlive()
    {
        var names = new TopicNames("lag_");
        var requested = AdminTopicProvisioner.ToSpecification(names.All(3).Single(s => s.Name == names.ActionLeases)).Configs;
        Assert.Equal("compact", requested["cleanup.policy"]);
        var lag = TimeSpan.FromMilliseconds(long.Parse(requested["min.compaction.lag.ms"], System.Globalization.CultureInfo.InvariantCulture));
        // A lease is in force for at most MaxLease, and other readers honour it for the skew beyond.
        var book = new SafeHaven.Core.CrossDc.ActionLeaseBook(TimeProvider.System);
        Assert.True(lag >= book.MaxLease + book.Skew, $"min.compaction.lag.ms {lag} is shorter than the longest lease {book.MaxLease} + skew {book.Skew}");
        Assert.Equal(TopicNames.ActionLeaseCompactionLag, lag);
        // The ledger and inventory keep the broker's default lag: only the latest record of a key matters there.
        Assert.Equal(new Dictionary<string, string> { ["cleanup.policy"] = "compact" },
            AdminTopicProvisioner.ToSpecification(names.All(3).Single(s => s.Name == names.Placements)).Configs);
        Assert.Null(AdminTopicProvisioner.ToSpecification(names.All(3).Single(s => s.Name == names.Reservations)).Configs);
    }

    [Theory]
    [InlineData("safe haven.")]
    [InlineData("safehaven/")]
    [InlineData("x:")]
    public void Illegal_prefix_characters_are_rejected(string prefix)
    {
        var e = Assert.Throws<ArgumentException>(() => new TopicNames(prefix));
        Assert.Equal("prefix", e.ParamName);
        Assert.Contains("illegal character", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prefix_too_long_for_the_longest_name_is_rejected()
    {
        // "action-leases" is the longest name (issue 13).
        Assert.NotNull(new TopicNames(new string('p', 249 - "action-leases".Length)));
        var e = Assert.Throws<ArgumentException>(() => new TopicNames(new string('p', 250 - "action-leases".Length)));
        Assert.Contains("at most 249", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void All_rejects_zero_partitions() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopicNames().All(0));
}
