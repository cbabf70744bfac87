namespace SafeHaven.Core.Tests;

public sealed class IdentifiersTests
{
    private static readonly string Token63 = "a" + new string('b', 62);
    private static readonly string Token64 = "a" + new string('b', 63);

    [Theory]
    [InlineData("h1")]
    [InlineData("node-01.example.com")]
    [InlineData("_x")]
    [InlineData("A_b-c.d")]
    [InlineData("0")]
    public void Tokens_accepted(string value)
    {
        Assert.True(Identifiers.IsToken(value));
        Assert.Equal(value, Identifiers.RequireToken(value, "host"));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("-rf")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData(";rm -rf /")]
    [InlineData("a;b")]
    [InlineData("$(id)")]
    [InlineData("`id`")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("h1\0")]
    [InlineData("a:b")]
    [InlineData("héte")]
    public void Tokens_rejected(string value)
    {
        Assert.False(Identifiers.IsToken(value));
        Assert.False(Identifiers.IsLongToken(value));
        var e = Assert.Throws<ArgumentException>(() => Identifiers.RequireToken(value, "host"));
        Assert.Equal("host", e.ParamName);
        Assert.StartsWith("host: '", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not a valid identifier", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_is_rejected_everywhere()
    {
        Assert.False(Identifiers.IsToken(null));
        Assert.False(Identifiers.IsLongToken(null));
        Assert.False(Identifiers.IsId(null));
        var e = Assert.Throws<ArgumentException>(() => Identifiers.RequireId(null, "rule"));
        Assert.Contains("'null'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trailing_newline_is_rejected()
    {
        Assert.False(Identifiers.IsToken("h1\n"));
        Assert.False(Identifiers.IsLongToken("c1\n"));
        Assert.False(Identifiers.IsId("h1:1:r\n"));
        Assert.Throws<ArgumentException>(() => Identifiers.RequireToken("h1\n", "host"));
        Assert.Throws<ArgumentException>(() => EntityIds.Of(TestData.Process(1, host: "h1\n")));
    }

    [Fact]
    public void Token_length_limit_is_63()
    {
        Assert.True(Identifiers.IsToken(Token63));
        Assert.False(Identifiers.IsToken(Token64));
        Assert.Throws<ArgumentException>(() => Identifiers.RequireToken(Token64, "host"));
        Assert.True(Identifiers.IsLongToken(Token64));
    }

    [Fact]
    public void Long_token_takes_a_docker_id_and_stops_at_128()
    {
        var dockerId = string.Concat(Enumerable.Repeat("0123456789abcdef", 4));
        Assert.True(Identifiers.IsLongToken(dockerId));
        Assert.True(Identifiers.IsLongToken(new string('a', 128)));
        Assert.False(Identifiers.IsLongToken(new string('a', 129)));
        Assert.Equal(dockerId, Identifiers.RequireLongToken(dockerId, "container"));
        Assert.Throws<ArgumentException>(() => Identifiers.RequireLongToken("../etc", "container"));
    }

    [Theory]
    [InlineData("h1:42:bus-lock-storm", true)]
    [InlineData("c-h1:1:r-core-1", true)]
    [InlineData("a", true)]
    [InlineData(":x", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    [InlineData("x;y", false)]
    public void Ids_allow_colons_but_not_separators(string value, bool valid)
    {
        Assert.Equal(valid, Identifiers.IsId(value));
        Assert.Equal(valid, TryRequireId(value));
    }

    [Fact]
    public void Id_length_limit_is_128()
    {
        Assert.True(Identifiers.IsId(new string('a', 128)));
        Assert.False(Identifiers.IsId(new string('a', 129)));
    }

    private static bool TryRequireId(string value)
    {
        try
        {
            return Identifiers.RequireId(value, "id") == value;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [Fact]
    public void Control_characters_in_the_error_message_are_replaced()
    {
        var e = Assert.Throws<ArgumentException>(() => Identifiers.RequireToken("h1\nFAKE LOG LINE\r\u001b[31m", "host"));

        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        Assert.DoesNotContain('\u001b', e.Message);
        Assert.Contains("'h1?FAKE LOG LINE??[31m'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_message_echoes_at_most_80_characters()
    {
        var e = Assert.Throws<ArgumentException>(() => Identifiers.RequireToken(new string('/', 500), "host"));

        Assert.Contains("'" + new string('/', 80) + "'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('/', 81), e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4_194_304)]
    public void Pids_in_range_accepted(int pid) => Assert.Equal(pid, Identifiers.RequirePid(pid, "pid"));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(4_194_305)]
    [InlineData(null)]
    public void Pids_out_of_range_rejected(int? pid)
    {
        var e = Assert.Throws<ArgumentException>(() => Identifiers.RequirePid(pid, "pid"));
        Assert.Equal("pid", e.ParamName);
        Assert.Contains("is not a valid pid", e.Message, StringComparison.Ordinal);
    }
}
