using SafeHaven.Core.Detector;

namespace SafeHaven.Core.Tests.Detector;

public sealed class RuleStateTests
{
    public static TheoryData<RuleState> States => new()
    {
        default(RuleState),
        new RuleState(3, 1_700_000_000_123_456_789, true, 1_700_000_030_123_456_789),
        new RuleState(int.MaxValue, long.MaxValue, false, long.MinValue),
        new RuleState(-1, -2, true, -3),
        new RuleState(0, 0, false, 9, Armed: true, QuietSinceNs: 1_700_000_040_000_000_000),
    };

    [Theory]
    [MemberData(nameof(States))]
    public void Bytes_round_trip(RuleState state)
    {
        var bytes = state.ToBytes();

        Assert.Equal(RuleState.Size, bytes.Length);
        Assert.Equal(state, RuleState.FromBytes(bytes));
    }

    [Fact]
    public void Layout_is_little_endian_fixed_fields()
    {
        var bytes = new RuleState(0x01020304, 0x05, true, 0x0708, Armed: true, QuietSinceNs: 0x090a).ToBytes();

        Assert.Equal(
            new byte[] { 4, 3, 2, 1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 8, 7, 0, 0, 0, 0, 0, 0, 1, 10, 9, 0, 0, 0, 0, 0, 0 },
            bytes);
    }

    [Fact]
    public void A_state_written_before_the_release_rule_reads_back_unarmed()
    {
        var old = new RuleState(0x01020304, 0x05, true, 0x0708).ToBytes()[..21];

        Assert.Equal(new RuleState(0x01020304, 0x05, true, 0x0708), RuleState.FromBytes(old));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    [InlineData(22)]
    [InlineData(31)]
    public void Wrong_length_is_a_format_error(int length)
    {
        var e = Assert.Throws<FormatException>(() => RuleState.FromBytes(new byte[length]));
        Assert.Equal($"rule state must be 30 (or 21) bytes, got {length}", e.Message);
    }

    [Fact]
    public void In_memory_store_find_put_delete()
    {
        var store = new InMemoryRuleStateStore();
        var s = new RuleState(1, 2, false, 3);

        Assert.Null(store.Find("k"));
        store.Put("k", s);
        Assert.Equal(s, store.Find("k"));
        Assert.Equal(1, store.Count);
        store.Delete("k");
        Assert.Null(store.Find("k"));
        Assert.Equal(0, store.Count);
    }
}
