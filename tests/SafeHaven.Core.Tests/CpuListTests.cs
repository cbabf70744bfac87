namespace SafeHaven.Core.Tests;

public sealed class CpuListTests
{
    [Theory]
    [InlineData("0-3,6", "0-3,6", new[] { 0, 1, 2, 3, 6 })]
    [InlineData("  1 ", "1", new[] { 1 })]
    [InlineData("6,0-3", "0-3,6", new[] { 0, 1, 2, 3, 6 })]
    [InlineData("0,1,2,5,7,8", "0-2,5,7-8", new[] { 0, 1, 2, 5, 7, 8 })]
    [InlineData("2-2", "2", new[] { 2 })]
    [InlineData("0-3,2-5", "0-5", new[] { 0, 1, 2, 3, 4, 5 })]
    [InlineData(" 1 , 3-4 ", "1,3-4", new[] { 1, 3, 4 })]
    [InlineData("8191", "8191", new[] { 8191 })]
    public void Parse_reads_the_kernel_list_syntax_and_formats_collapsed(string text, string formatted, int[] cpus)
    {
        var list = CpuList.Parse(text);

        Assert.Equal(cpus, list.Cpus);
        Assert.Equal(cpus.Length, list.Count);
        Assert.Equal(formatted, list.ToString());
        Assert.Equal(list, CpuList.Parse(list.ToString()));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_or_blank_text_is_the_empty_set(string text)
    {
        var list = CpuList.Parse(text);

        Assert.True(list.IsEmpty);
        Assert.Equal(0, list.Count);
        Assert.Equal("", list.ToString());
        Assert.Equal(CpuList.Empty, list);
    }

    [Theory]
    [InlineData("3-1", "'3-1'")]
    [InlineData("1,,2", "empty element")]
    [InlineData("1,", "empty element")]
    [InlineData("-1", "'-1'")]
    [InlineData("8192", "'8192'")]
    [InlineData("0-8192", "'0-8192'")]
    [InlineData("0x1", "'0x1'")]
    [InlineData("+1", "'+1'")]
    [InlineData("1-", "'1-'")]
    [InlineData("a", "'a'")]
    [InlineData("1-2-3", "'1-2-3'")]
    [InlineData("3 - 4", "'3 - 4'")]
    public void Invalid_text_is_refused_naming_the_bad_part(string text, string named)
    {
        Assert.False(CpuList.TryParse(text, out var list, out var error));
        Assert.Same(CpuList.Empty, list);
        Assert.Contains(named, error, StringComparison.Ordinal);

        var e = Assert.Throws<FormatException>(() => CpuList.Parse(text));
        Assert.Equal(error, e.Message);
    }

    [Fact]
    public void TryParse_of_valid_text_has_no_error()
    {
        Assert.True(CpuList.TryParse("4-5", out var list, out var error));
        Assert.Equal("", error);
        Assert.Equal([4, 5], list.Cpus);
    }

    [Fact]
    public void Parse_of_null_throws_ArgumentNullException() =>
        Assert.Throws<ArgumentNullException>(() => CpuList.Parse(null!));

    [Fact]
    public void Of_sorts_and_deduplicates_and_checks_bounds()
    {
        Assert.Equal("1-3,9", CpuList.Of([9, 3, 1, 2, 3]).ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuList.Of([-1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuList.Of([CpuList.MaxCpu + 1]));
        Assert.Equal("8191", CpuList.Of([CpuList.MaxCpu]).ToString());
    }

    [Fact]
    public void Set_operations()
    {
        var a = CpuList.Parse("0-3");
        var b = CpuList.Parse("2-5");

        Assert.Equal("0-5", a.Union(b).ToString());
        Assert.Equal("0-1", a.Except(b).ToString());
        Assert.Equal("4-5", b.Except(a).ToString());
        Assert.True(a.Overlaps(b));
        Assert.False(a.Overlaps(CpuList.Parse("4-7")));
        Assert.True(CpuList.Parse("1-2").IsSubsetOf(a));
        Assert.False(b.IsSubsetOf(a));
        Assert.True(CpuList.Empty.IsSubsetOf(a));
        Assert.True(a.Contains(3));
        Assert.False(a.Contains(4));
        Assert.True(a.Except(a).IsEmpty);
    }

    [Fact]
    public void Set_operations_do_not_mutate_their_operands()
    {
        var a = CpuList.Parse("0-3");
        var b = CpuList.Parse("2-5");

        _ = a.Union(b);
        _ = a.Except(b);

        Assert.Equal("0-3", a.ToString());
        Assert.Equal("2-5", b.ToString());
    }

    [Fact]
    public void Equality_is_set_equality()
    {
        var a = CpuList.Parse("0-2,4");
        var b = CpuList.Of([4, 2, 1, 0]);

        Assert.True(a.Equals(b));
        Assert.True(a.Equals((object)b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.Equals(CpuList.Parse("0-2")));
        Assert.False(a.Equals(null));
        Assert.False(a.Equals((object)"0-2,4"));
        Assert.Equal(CpuList.Empty, CpuList.Parse(""));
    }
}
