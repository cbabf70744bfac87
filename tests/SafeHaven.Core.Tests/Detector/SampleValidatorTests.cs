using SafeHaven.Core.Detector;
using SafeHaven.Schemas;
using static SafeHaven.Core.Tests.TestData;

namespace SafeHaven.Core.Tests.Detector;

public sealed class SampleValidatorTests
{
    private static CounterSample Good() => Sample(Process(42), 1, 10 * Second, Second, ("context-switches", 5), ("page-faults", 0));

    [Fact]
    public void Good_sample_has_no_problem()
    {
        Assert.Null(SampleValidator.Problem(Good()));
        Assert.Null(SampleValidator.Problem(Sample(Container("abc"), 1, Second, 1)));
        Assert.Null(SampleValidator.Problem(Sample(Vm("v1"), 1, Second, Second)));
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1_000_000_000L)]
    public void Interval_must_be_positive(long interval)
    {
        var s = Good();
        s.intervalNs = interval;
        Assert.Equal($"intervalNs must be > 0, got {interval}", SampleValidator.Problem(s));
    }

    [Fact]
    public void Negative_count_is_named()
    {
        var s = Good();
        s.values["page-faults"] = -3;
        Assert.Equal("counter 'page-faults' has a negative count -3", SampleValidator.Problem(s));
    }

    [Fact]
    public void Host_mismatch()
    {
        var s = Good();
        s.host = "h2";
        Assert.Equal("host 'h2' is not a valid host id or differs from entity.host 'h1'", SampleValidator.Problem(s));
    }

    [Fact]
    public void Invalid_host_id_even_when_entity_agrees()
    {
        var s = Sample(Process(42, host: "../h1"), 1, Second, Second);
        Assert.Equal("host '../h1' is not a valid host id or differs from entity.host '../h1'", SampleValidator.Problem(s));
    }

    [Fact]
    public void Pid_zero_is_an_unknown_entity()
    {
        var s = Sample(Process(0), 1, Second, Second, ("cs", 1));
        var problem = SampleValidator.Problem(s);
        Assert.NotNull(problem);
        Assert.StartsWith("unknown entity: pid: '0' is not a valid pid", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_datacenter_is_an_unknown_entity()
    {
        var e = Process(1);
        e.datacenter = "dc 1";
        var problem = SampleValidator.Problem(Sample(e, 1, Second, Second));
        Assert.NotNull(problem);
        Assert.StartsWith("unknown entity: datacenter: 'dc 1'", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_entity_and_values()
    {
        var noEntity = Good();
        noEntity.entity = null!;
        Assert.Equal("entity is missing", SampleValidator.Problem(noEntity));

        var noValues = Good();
        noValues.values = null!;
        Assert.Equal("values is missing", SampleValidator.Problem(noValues));
    }

    [Fact]
    public void Null_sample_throws() => Assert.Throws<ArgumentNullException>(() => SampleValidator.Problem((CounterSample)null!));
}
