using SafeHaven.Core;
using SafeHaven.StreamProcessors.MovingTarget;

namespace SafeHaven.StreamProcessors.Tests.MovingTarget;

public sealed class MovingTargetRotationTests
{
    [Theory]
    [InlineData("2-3", null, 2)]
    [InlineData("2-3", 2, 3)]
    [InlineData("2-3", 3, 2)]
    [InlineData("1,4,7", 5, 7)]
    [InlineData("1,4,7", 7, 1)]
    [InlineData("1,4,7", 9, 1)]
    [InlineData("5", 5, 5)]
    public void Next_is_the_following_cpu_of_the_pool_wrapping_around(string pool, int? last, int expected) =>
        Assert.Equal(expected, MovingTargetRotation.Next(CpuList.Parse(pool), last));

    [Fact]
    public void Next_of_an_empty_pool_is_refused() =>
        Assert.Throws<ArgumentException>(() => MovingTargetRotation.Next(CpuList.Empty, null));

    [Fact]
    public void A_round_shifts_every_entity_by_one_and_keeps_them_apart()
    {
        var pool = CpuList.Parse("2-4");
        IReadOnlyList<int?> last = [null, null];
        var seen = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var next = MovingTargetRotation.NextRound(pool, last)!;
            Assert.Equal(next.Count, next.Distinct().Count());
            seen.Add(string.Join(",", next));
            last = [.. next.Select(c => (int?)c)];
        }
        Assert.Equal(["2,3", "3,4", "4,2", "2,3"], seen);
    }

    [Fact]
    public void A_round_needs_a_spare_cpu() =>
        Assert.Null(MovingTargetRotation.NextRound(CpuList.Parse("2-3"), [2, 3]));

    [Fact]
    public void Positions_outside_a_changed_pool_start_afresh() =>
        Assert.Equal([6, 7], MovingTargetRotation.NextRound(CpuList.Parse("6-8"), [2, 3]));

    [Fact]
    public void Moves_are_ordered_so_nobody_lands_on_a_held_cpu()
    {
        // 3→4 (free) must go before 2→3, which the second entity still holds.
        Assert.Equal([1, 0], MovingTargetRotation.MoveOrder([2, 3], [3, 4]));
        // 4→2 waits for the holder of 2 to leave for 3.
        Assert.Equal([1, 0], MovingTargetRotation.MoveOrder([4, 2], [2, 3]));
        Assert.Equal([0, 1], MovingTargetRotation.MoveOrder([null, null], [2, 3]));
    }
}
