using System.Text.Json;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests;

public sealed class SampleJsonTests
{
    [Fact]
    public void Writes_every_field()
    {
        var sample = new CounterSample
        {
            host = "h1",
            entity = new EntityRef { datacenter = "dc", host = "h1", pid = 42, comm = "a \"b\"", startTime = 7, container = null, vm = null },
            values = new Dictionary<string, long> { ["page-faults"] = 3, ["context-switches"] = 5 },
            intervalNs = 1_000_000_123,
            timestampNs = 1_700_000_000_000_000_000,
            seq = 9,
            droppedSamples = 1,
        };
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            SampleJson.Write(sample, w);
        }
        using var doc = JsonDocument.Parse(ms.ToArray());
        var r = doc.RootElement;
        Assert.Equal("h1", r.GetProperty("host").GetString());
        var e = r.GetProperty("entity");
        Assert.Equal("dc", e.GetProperty("datacenter").GetString());
        Assert.Equal(42, e.GetProperty("pid").GetInt32());
        Assert.Equal("a \"b\"", e.GetProperty("comm").GetString());
        Assert.Equal(7, e.GetProperty("startTime").GetInt64());
        Assert.Equal(JsonValueKind.Null, e.GetProperty("vm").ValueKind);
        Assert.Equal(JsonValueKind.Null, e.GetProperty("container").ValueKind);
        Assert.Equal(["context-switches", "page-faults"], r.GetProperty("values").EnumerateObject().Select(p => p.Name));
        Assert.Equal(5, r.GetProperty("values").GetProperty("context-switches").GetInt64());
        Assert.Equal(1_000_000_123, r.GetProperty("intervalNs").GetInt64());
        Assert.Equal(1_700_000_000_000_000_000, r.GetProperty("timestampNs").GetInt64());
        Assert.Equal(9, r.GetProperty("seq").GetInt64());
        Assert.Equal(1, r.GetProperty("droppedSamples").GetInt64());
    }
}
