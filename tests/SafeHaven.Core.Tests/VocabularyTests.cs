namespace SafeHaven.Core.Tests;

public sealed class VocabularyTests
{
    [Theory]
    [InlineData("core", "core")]
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
        Assert.Equal(["core", "machine", "vm", "hypervisor", "network"], Scopes.All);
        Assert.Equal(["core", "container", "vm"], Levels.All);
    }

    [Theory]
    [InlineData("core", "container")]
    [InlineData("container", "vm")]
    [InlineData("vm", null)]
    public void Next_climbs_one_level(string level, string? next) => Assert.Equal(next, Levels.Next(level));

    [Fact]
    public void IndexOf_ranks_levels_cheapest_first()
    {
        Assert.Equal(0, Levels.IndexOf(Levels.Core));
        Assert.Equal(1, Levels.IndexOf(Levels.Container));
        Assert.Equal(2, Levels.IndexOf(Levels.Vm));
        var e = Assert.Throws<ArgumentException>(() => Levels.IndexOf("machine"));
        Assert.Contains("unknown level 'machine'", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Levels.Next("hypervisor"));
    }
}
