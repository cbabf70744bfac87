namespace SafeHaven.Core.Tests;

public sealed class VocabularyTests
{
    [Theory]
    [InlineData("smt", "smt")]
    [InlineData("core", "core")]
    [InlineData("llc", "llc")]
    [InlineData("memory", "numa")]
    [InlineData("machine", "container")]
    [InlineData("vm", "vm")]
    [InlineData("hypervisor", "vm")]
    [InlineData("network", "container")]
    public void Minimum_level_of_each_scope(string scope, string level) =>
        Assert.Equal(level, Scopes.MinimumLevel(scope));

    [Theory]
    [InlineData("Core")]
    [InlineData("")]
    [InlineData("cache")]
    public void Unknown_scope_throws_naming_it(string scope)
    {
        var e = Assert.Throws<ArgumentException>(() => Scopes.MinimumLevel(scope));
        Assert.Contains($"unknown scope '{scope}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scopes_and_levels_are_listed_in_order()
    {
        Assert.Equal(["smt", "core", "llc", "memory", "machine", "vm", "hypervisor", "network"], Scopes.All);
        Assert.Equal(["smt", "core", "llc", "numa", "container", "vm"], Levels.All);
    }

    [Theory]
    [InlineData("smt", "core")]
    [InlineData("core", "llc")]
    [InlineData("numa", "container")]
    [InlineData("container", "vm")]
    [InlineData("vm", null)]
    public void Next_climbs_one_level(string level, string? next) => Assert.Equal(next, Levels.Next(level));

    [Fact]
    public void IndexOf_ranks_levels_cheapest_first()
    {
        Assert.Equal(0, Levels.IndexOf(Levels.Smt));
        Assert.Equal(1, Levels.IndexOf(Levels.Core));
        Assert.Equal(4, Levels.IndexOf(Levels.Container));
        Assert.Equal(5, Levels.IndexOf(Levels.Vm));
        var e = Assert.Throws<ArgumentException>(() => Levels.IndexOf("machine"));
        Assert.Contains("unknown level 'machine'", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Levels.Next("hypervisor"));
    }

    [Theory]
    [InlineData("smt", "smt,core,numa,container,vm")]
    [InlineData("core", "core,numa,container,vm")]
    [InlineData("llc", "llc,numa,container,vm")]
    [InlineData("memory", "numa,container,vm")]
    [InlineData("machine", "container,vm")]
    [InlineData("network", "container,vm")]
    [InlineData("vm", "vm")]
    [InlineData("hypervisor", "vm")]
    public void Each_scope_is_broken_by_its_levels_only_cheapest_first(string scope, string levels)
    {
        Assert.Equal(levels.Split(','), Scopes.LevelsFor(scope));
        Assert.All(Levels.All, l => Assert.Equal(levels.Split(',').Contains(l), Scopes.Breaks(scope, l)));
        var ranks = Scopes.LevelsFor(scope).Select(Levels.IndexOf).ToList();
        Assert.Equal(ranks.Order(), ranks);
    }

    [Theory]
    [InlineData("core", "core", "numa")]
    [InlineData("llc", "llc", "numa")]
    [InlineData("smt", "smt", "core")]
    [InlineData("core", "smt", "core")]
    [InlineData("machine", "container", "vm")]
    [InlineData("vm", "vm", null)]
    public void NextLevel_skips_levels_that_do_not_break_the_scope(string scope, string level, string? next) =>
        Assert.Equal(next, Scopes.NextLevel(scope, level));
}
