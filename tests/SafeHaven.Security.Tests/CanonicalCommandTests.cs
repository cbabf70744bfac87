using SafeHaven.Schemas;

namespace SafeHaven.Security.Tests;

public sealed class CanonicalCommandTests
{
    [Fact]
    public void Same_command_gives_same_bytes_and_signature_is_not_covered()
    {
        var a = Commands.New();
        var b = Commands.New();
        b.signature = [1, 2, 3];
        Assert.Equal(CanonicalCommand.Bytes(a), CanonicalCommand.Bytes(b));
    }

    public static TheoryData<string> Mutations() => ["commandId", "detectionId", "pid", "startTime", "level", "action", "source", "target", "issued", "deadline", "dryRun", "reasons", "keyId", "host", "null-vs-empty"];

    [Theory]
    [MemberData(nameof(Mutations))]
    public void Every_field_changes_the_bytes(string field)
    {
        var c = Commands.New();
        Action<IsolationCommand> mutate = field switch
        {
            "commandId" => x => x.commandId += "x",
            "detectionId" => x => x.detectionId = null,
            "pid" => x => x.entity.pid = 4243,
            "startTime" => x => x.entity.startTime = 100,
            "level" => x => x.level = "vm",
            "action" => x => x.action = "release",
            "source" => x => x.source = "h2",
            "target" => x => x.target = "2",
            "issued" => x => x.issuedAtNs++,
            "deadline" => x => x.deadlineNs += 1_000_000_000,
            "dryRun" => x => x.dryRun = true,
            "reasons" => x => x.reasons = [.. x.reasons, "more"],
            "keyId" => x => x.keyId = "abc",
            "host" => x => x.entity.host = "h2",
            _ => x => x.entity.comm = "",
        };
        var before = CanonicalCommand.Bytes(c);
        mutate(c);
        Assert.NotEqual(before, CanonicalCommand.Bytes(c));
    }

    [Fact]
    public void Field_boundaries_are_unambiguous()
    {
        // "ab" + "c" and "a" + "bc" must not collide: fields are length-prefixed.
        var x = Commands.New();
        x.source = "ab";
        x.target = "c";
        var y = Commands.New();
        y.source = "a";
        y.target = "bc";
        Assert.NotEqual(CanonicalCommand.Bytes(x), CanonicalCommand.Bytes(y));
    }
}
