using System.Collections;
using System.Globalization;
using System.Text.Json;
using Avro;
using Avro.Specific;

namespace SafeHaven.Kafka.Tests.Serialization;

/// <summary>
/// Field-by-field comparison of generated Avro records (they have no value equality), with
/// each other and with the JSON that the Python decoder prints (bytes as lowercase hex).
/// </summary>
internal static class RecordAssert
{
    public static void Equal(ISpecificRecord expected, ISpecificRecord actual, string path = "$")
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.GetType(), actual.GetType());
        foreach (var field in ((RecordSchema)expected.Schema).Fields)
        {
            EqualValue(expected.Get(field.Pos), actual.Get(field.Pos), $"{path}.{field.Name}");
        }
    }

    private static void EqualValue(object? expected, object? actual, string path)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{path}: expected null, got {actual}");
                break;
            case ISpecificRecord record:
                Assert.True(actual is ISpecificRecord, $"{path}: expected a record, got {actual}");
                Equal(record, (ISpecificRecord)actual!, path);
                break;
            case byte[] bytes:
                Assert.True(actual is byte[], $"{path}: expected bytes, got {actual}");
                Assert.True(bytes.AsSpan().SequenceEqual((byte[])actual!), $"{path}: {Convert.ToHexString(bytes)} != {Convert.ToHexString((byte[])actual!)}");
                break;
            case IDictionary map:
                var actualMap = Assert.IsAssignableFrom<IDictionary>(actual);
                Assert.True(map.Count == actualMap.Count, $"{path}: {map.Count} entries expected, got {actualMap.Count}");
                foreach (DictionaryEntry entry in map)
                {
                    Assert.True(actualMap.Contains(entry.Key), $"{path}: key '{entry.Key}' missing");
                    EqualValue(entry.Value, actualMap[entry.Key], $"{path}[{entry.Key}]");
                }
                break;
            case IList list when expected is not string:
                var actualList = Assert.IsAssignableFrom<IList>(actual);
                Assert.True(list.Count == actualList.Count, $"{path}: {list.Count} items expected, got {actualList.Count}");
                for (var i = 0; i < list.Count; i++)
                {
                    EqualValue(list[i], actualList[i], $"{path}[{i}]");
                }
                break;
            default:
                Assert.True(Equals(expected, actual), $"{path}: expected {expected} ({expected.GetType().Name}), got {actual} ({actual?.GetType().Name})");
                break;
        }
    }

    /// <summary>Asserts that <paramref name="json"/> holds exactly <paramref name="expected"/>'s fields and values.</summary>
    public static void EqualJson(ISpecificRecord expected, JsonElement json, string path = "$")
    {
        Assert.True(json.ValueKind == JsonValueKind.Object, $"{path}: expected an object, got {json.ValueKind}");
        var fields = ((RecordSchema)expected.Schema).Fields;
        Assert.Equal(fields.Select(f => f.Name).Order(StringComparer.Ordinal), json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        foreach (var field in fields)
        {
            EqualJsonValue(expected.Get(field.Pos), json.GetProperty(field.Name), $"{path}.{field.Name}");
        }
    }

    private static void EqualJsonValue(object? expected, JsonElement json, string path)
    {
        switch (expected)
        {
            case null:
                Assert.True(json.ValueKind == JsonValueKind.Null, $"{path}: expected null, got {json}");
                break;
            case ISpecificRecord record:
                EqualJson(record, json, path);
                break;
            case string s:
                Assert.True(json.ValueKind == JsonValueKind.String && json.GetString() == s, $"{path}: expected \"{s}\", got {json}");
                break;
            case byte[] bytes:
                Assert.True(json.ValueKind == JsonValueKind.String, $"{path}: expected hex, got {json}");
                Assert.Equal(Convert.ToHexStringLower(bytes), json.GetString());
                break;
            case bool b:
                Assert.True(json.ValueKind == (b ? JsonValueKind.True : JsonValueKind.False), $"{path}: expected {b}, got {json}");
                break;
            case int i:
                Assert.True(json.ValueKind == JsonValueKind.Number && json.TryGetInt32(out var iv) && iv == i, $"{path}: expected {i}, got {json}");
                break;
            case long l:
                Assert.True(json.ValueKind == JsonValueKind.Number && json.TryGetInt64(out var lv) && lv == l, $"{path}: expected {l}, got {json}");
                break;
            case double d:
                Assert.True(json.ValueKind == JsonValueKind.Number && json.GetDouble().Equals(d), $"{path}: expected {d.ToString("R", CultureInfo.InvariantCulture)}, got {json}");
                break;
            case IDictionary map:
                Assert.True(json.ValueKind == JsonValueKind.Object, $"{path}: expected a map, got {json}");
                Assert.Equal(map.Keys.Cast<string>().Order(StringComparer.Ordinal), json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
                foreach (DictionaryEntry entry in map)
                {
                    EqualJsonValue(entry.Value, json.GetProperty((string)entry.Key), $"{path}[{entry.Key}]");
                }
                break;
            case IList list:
                Assert.True(json.ValueKind == JsonValueKind.Array && json.GetArrayLength() == list.Count, $"{path}: expected {list.Count} items, got {json}");
                for (var i = 0; i < list.Count; i++)
                {
                    EqualJsonValue(list[i], json[i], $"{path}[{i}]");
                }
                break;
            default:
                Assert.Fail($"{path}: no JSON comparison for {expected.GetType().Name}");
                break;
        }
    }
}
