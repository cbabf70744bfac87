using SafeHaven.Core.Bounds;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Tests.Bounds;

/// <summary>Each limit of <see cref="RecordBounds"/>: a record just inside passes, one just outside is refused with a reason naming the field.</summary>
public sealed class RecordBoundsTests
{
    private const long Second = 1_000_000_000L;
    private static readonly long Now = 1_800_000_000L * Second;
    private static readonly RecordBounds Bounds = RecordBounds.Default;

    private static EntityRef Entity(int? pid = 42, string? comm = "stress-ng") => new() { datacenter = "dc1", host = "h1", pid = pid, comm = comm };

    private static CounterSample Sample() => new()
    {
        host = "h1", entity = Entity(), values = new Dictionary<string, long> { ["context-switches"] = 5 },
        intervalNs = Second, timestampNs = Now, seq = 1,
    };

    private static Detection Detection() => new()
    {
        detectionId = "d-1", entity = Entity(), rule = "storm", counter = "context-switches", rate = 1e6, threshold = 1e3,
        scope = "core", detectedAtNs = Now, firstSampleAtNs = Now - Second,
    };

    private static IsolationCommand Command() => new()
    {
        commandId = "c-1", entity = Entity(), level = "core", action = "isolate", source = "h1", target = "h1", issuedAtNs = Now,
        deadlineNs = Now + Second, reasons = ["r"], signature = new byte[64],
    };

    private static IsolationResult Result() => new()
    {
        commandId = "c-1", entity = Entity(), level = "core", status = "succeeded", startedAtNs = Now - Second, finishedAtNs = Now,
        phases = new Dictionary<string, long> { ["cpuset"] = 1000 }, actuator = "h1",
    };

    private static EntityState State() => new()
    {
        entityId = "dc1/h1/pid/42", kind = "process", entity = Entity(), levels = ["core"],
        counterStatus = new Dictionary<string, string>(), attributes = new Dictionary<string, string> { ["pgid"] = "42" }, updatedAtNs = Now,
    };

    private static SlotRecord Slot(int members = 1) => new()
    {
        slot = "h1/cpu/1", actuator = "h1", level = "core", @event = "hold", reason = "r", writer = "p1", updatedAtNs = Now,
        members = [.. Enumerable.Range(0, members).Select(i => new SlotMember
        {
            entityId = "dc1/h1/pid/" + (i + 1), entity = Entity(i + 1), scope = "core", status = "held", source = "h1", target = "h1",
        })],
    };

    [Fact]
    public void Valid_records_of_every_type_pass()
    {
        Assert.Null(Bounds.Problem(Sample(), Now));
        Assert.Null(Bounds.Problem(Detection(), Now));
        Assert.Null(Bounds.Problem(Command(), Now));
        Assert.Null(Bounds.Problem(Result(), Now));
        Assert.Null(Bounds.Problem(State(), Now));
        Assert.Null(Bounds.Problem(Slot(), Now));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(-1, false)]
    [InlineData(1, true)]
    [InlineData(RecordBounds.MaxPid, true)]
    [InlineData(RecordBounds.MaxPid + 1, false)]
    public void Pid_must_be_within_1_to_4194304(int pid, bool ok)
    {
        var s = Sample();
        s.entity = Entity(pid);
        Assert.Equal(ok, Bounds.Problem(s, Now) is null);
        if (!ok)
        {
            Assert.Contains("entity.pid", Bounds.Problem(s, Now), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_comm_longer_than_the_name_limit_is_refused()
    {
        var s = Sample();
        s.entity = Entity(comm: new string('x', Bounds.MaxNameLength));
        Assert.Null(Bounds.Problem(s, Now));
        s.entity = Entity(comm: new string('x', 300_000));
        Assert.Contains("entity.comm has 300000 characters", Bounds.Problem(s, Now), StringComparison.Ordinal);
    }

    [Fact]
    public void A_sample_value_map_over_the_entry_limit_is_refused()
    {
        var s = Sample();
        s.values = Enumerable.Range(0, Bounds.MaxMapEntries).ToDictionary(i => "c" + i, i => (long)i);
        Assert.Null(Bounds.Problem(s, Now));
        s.values = Enumerable.Range(0, 30_000).ToDictionary(i => "c" + i, i => (long)i);
        Assert.Contains("values has 30000 entries", Bounds.Problem(s, Now), StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_counter_name_a_long_rule_and_a_long_id_are_refused()
    {
        var s = Sample();
        s.values = new Dictionary<string, long> { [new string('c', Bounds.MaxNameLength + 1)] = 1 };
        Assert.Contains("a key of values", Bounds.Problem(s, Now), StringComparison.Ordinal);
        var d = Detection();
        d.rule = new string('r', Bounds.MaxNameLength + 1);
        Assert.Contains("rule has", Bounds.Problem(d, Now), StringComparison.Ordinal);
        var c = Command();
        c.commandId = new string('i', Bounds.MaxIdLength + 1);
        Assert.Contains("commandId has", Bounds.Problem(c, Now), StringComparison.Ordinal);
    }

    [Fact]
    public void Result_phases_attributes_and_reasons_are_bounded()
    {
        var r = Result();
        r.phases = Enumerable.Range(0, Bounds.MaxMapEntries + 1).ToDictionary(i => "p" + i, _ => 1L);
        Assert.Contains("phases has", Bounds.Problem(r, Now), StringComparison.Ordinal);
        var st = State();
        st.attributes = new Dictionary<string, string> { ["a"] = new string('v', Bounds.MaxTextLength + 1) };
        Assert.Contains("attributes['a']", Bounds.Problem(st, Now), StringComparison.Ordinal);
        var c = Command();
        c.reasons = [.. Enumerable.Repeat("r", Bounds.MaxListItems + 1)];
        Assert.Contains("reasons has", Bounds.Problem(c, Now), StringComparison.Ordinal);
        c = Command();
        c.signature = new byte[Bounds.MaxSignatureBytes + 1];
        Assert.Contains("signature has", Bounds.Problem(c, Now), StringComparison.Ordinal);
    }

    [Fact]
    public void Slot_members_are_bounded()
    {
        Assert.Null(Bounds.Problem(Slot(3), Now));
        Assert.Contains("members has", (Bounds with { MaxSlotMembers = 2 }).Problem(Slot(3), Now), StringComparison.Ordinal);
    }

    [Fact]
    public void A_detection_dated_2001_or_an_hour_ahead_is_refused_and_the_window_is_configurable()
    {
        var d = Detection();
        d.detectedAtNs = 1_000_000_000L * Second;
        Assert.Contains("detectedAtNs", Bounds.Problem(d, Now), StringComparison.Ordinal);
        d = Detection();
        d.detectedAtNs = Now + 3600 * Second;
        Assert.Contains("ahead of now", Bounds.Problem(d, Now), StringComparison.Ordinal);
        d.detectedAtNs = Now + 60 * Second;
        Assert.Null(Bounds.Problem(d, Now));
        var replay = Bounds with { MaxAge = null, MaxAhead = null };
        d.detectedAtNs = 1_000_000_000L * Second;
        d.firstSampleAtNs = d.detectedAtNs;
        Assert.Null(replay.Problem(d, Now));
    }

    [Fact]
    public void Old_inventory_and_ledger_records_pass_but_future_ones_do_not()
    {
        var st = State();
        st.updatedAtNs = Now - 30L * 24 * 3600 * Second;
        Assert.Null(Bounds.Problem(st, Now));
        st.updatedAtNs = Now + 3600 * Second;
        Assert.Contains("updatedAtNs", Bounds.Problem(st, Now), StringComparison.Ordinal);
        var slot = Slot();
        slot.updatedAtNs = Now - 30L * 24 * 3600 * Second;
        Assert.Null(Bounds.Problem(slot, Now));
    }

    [Fact]
    public void Non_finite_rates_and_negative_counts_are_refused()
    {
        var d = Detection();
        d.rate = double.NaN;
        Assert.Contains("rate is NaN", Bounds.Problem(d, Now), StringComparison.Ordinal);
        var s = Sample();
        s.values = new Dictionary<string, long> { ["x"] = -1 };
        Assert.Contains("negative", Bounds.Problem(s, Now), StringComparison.Ordinal);
    }
}
