using System.Text.Json;
using SafeHaven.Schemas;

namespace SafeHaven.Probes;

/// <summary>JSON form of a <see cref="CounterSample"/> (one object per line for <c>probe --stdout</c>).</summary>
public static class SampleJson
{
    /// <summary>Writes <paramref name="sample"/> as one JSON object with the Avro field names.</summary>
    public static void Write(CounterSample sample, Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("host", sample.host);
        writer.WriteStartObject("entity");
        var e = sample.entity;
        writer.WriteString("datacenter", e.datacenter);
        writer.WriteString("host", e.host);
        WriteNullable(writer, "vm", e.vm);
        WriteNullable(writer, "container", e.container);
        if (e.pid is { } pid) { writer.WriteNumber("pid", pid); } else { writer.WriteNull("pid"); }
        WriteNullable(writer, "comm", e.comm);
        if (e.startTime is { } st) { writer.WriteNumber("startTime", st); } else { writer.WriteNull("startTime"); }
        writer.WriteEndObject();
        writer.WriteStartObject("values");
        // Sorted so that lines diff well and tests can compare text.
        foreach (var (name, value) in sample.values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            writer.WriteNumber(name, value);
        }
        writer.WriteEndObject();
        writer.WriteNumber("intervalNs", sample.intervalNs);
        writer.WriteNumber("timestampNs", sample.timestampNs);
        writer.WriteNumber("seq", sample.seq);
        writer.WriteNumber("droppedSamples", sample.droppedSamples);
        writer.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null) { writer.WriteNull(name); } else { writer.WriteString(name, value); }
    }
}
