using Avro;
using Avro.Specific;
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

    /// <summary>
    /// Every field of the schema but <c>signature</c>, the entity's fields included, read from the contract itself: a
    /// field added to IsolationCommand.avsc or EntityRef.avsc shows up here and fails until the signature covers it.
    /// </summary>
    public static TheoryData<string> Fields()
    {
        var data = new TheoryData<string>();
        foreach (var f in ((RecordSchema)new IsolationCommand().Schema).Fields.Where(f => f.Name != "signature"))
        {
            if (f.Name == "entity")
            {
                foreach (var e in ((RecordSchema)new EntityRef().Schema).Fields)
                {
                    data.Add("entity." + e.Name);
                }
            }
            else
            {
                data.Add(f.Name);
            }
        }
        return data;
    }

    [Fact]
    public void The_field_list_comes_from_the_schema()
    {
        var fields = new List<string>();
        foreach (var row in Fields())
        {
            fields.Add(row);
        }
        Assert.Contains("entity.startTime", fields);
        Assert.Contains("group", fields);
        Assert.Contains("cluster", fields);
        Assert.DoesNotContain("signature", fields);
    }

    [Theory]
    [MemberData(nameof(Fields))]
    public void Every_field_of_the_schema_changes_the_bytes(string path)
    {
        var c = Commands.New();
        ISpecificRecord target = c;
        var name = path;
        if (path.StartsWith("entity.", StringComparison.Ordinal))
        {
            target = c.entity;
            name = path["entity.".Length..];
        }
        var field = ((RecordSchema)target.Schema).Fields.Single(f => f.Name == name);
        var before = CanonicalCommand.Bytes(c);
        target.Put(field.Pos, Changed(field.Schema, target.Get(field.Pos)));
        Assert.NotEqual(before, CanonicalCommand.Bytes(c));
    }

    [Fact]
    public void Null_and_empty_differ()
    {
        var c = Commands.New();
        c.entity.comm = null;
        var before = CanonicalCommand.Bytes(c);
        c.entity.comm = "";
        Assert.NotEqual(before, CanonicalCommand.Bytes(c));
    }

    // A value of the field's Avro type that differs from the current one: null <-> a value for unions.
    private static object? Changed(Schema schema, object? current) => schema switch
    {
        UnionSchema u when current is null => Changed(u.Schemas.First(s => s.Tag != Schema.Type.Null), null),
        UnionSchema => null,
        _ => schema.Tag switch
        {
            Schema.Type.String => (current as string ?? "") + "x",
            Schema.Type.Long => (current is long l ? l : 0L) + 1,
            Schema.Type.Int => (current is int i ? i : 0) + 1,
            Schema.Type.Boolean => !(current is bool b && b),
            Schema.Type.Array => new List<string>([.. (current as IList<string>) ?? [], "more"]),
            _ => throw new NotSupportedException($"no mutation for Avro type {schema.Tag}: teach this test, then the signature, the new type"),
        },
    };

    [Fact]
    public void A_group_and_a_cluster_of_the_same_text_differ()
    {
        // Both are appended only when set: a command with only a group must not sign the same bytes as one with only a cluster.
        var withGroup = Commands.New();
        withGroup.group = "g";
        withGroup.cluster = null;
        var withCluster = Commands.New();
        withCluster.group = null;
        withCluster.cluster = "g";
        Assert.NotEqual(CanonicalCommand.Bytes(withGroup), CanonicalCommand.Bytes(withCluster));
    }

    [Fact]
    public void A_command_without_group_and_cluster_keeps_its_old_bytes()
    {
        var c = Commands.New();
        c.group = null;
        c.cluster = null;
        var bytes = CanonicalCommand.Bytes(c);
        c.cluster = "dc1-kafka";
        var withCluster = CanonicalCommand.Bytes(c);
        // The old bytes are a strict prefix: signatures made before the field existed still verify.
        Assert.True(withCluster.Length > bytes.Length);
        Assert.Equal(bytes, withCluster[..bytes.Length]);
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
