using System.Text.Json;
using System.Text.Json.Nodes;

namespace SafeHaven.StreamProcessors.Siem;

/// <summary>JSON helpers of the projections.</summary>
public static class SiemJson
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    /// <summary>
    /// Removes null-valued properties at every depth (and objects left empty), in place: both OCSF and ECS mean
    /// "unknown" by absence, and an explicit null fails type checks of strict consumers.
    /// </summary>
    public static JsonObject Compact(JsonObject o)
    {
        ArgumentNullException.ThrowIfNull(o);
        foreach (var (name, value) in o.ToList())
        {
            if (value is JsonObject child)
            {
                Compact(child);
            }
            if (value is null || value is JsonObject { Count: 0 })
            {
                o.Remove(name);
            }
        }
        return o;
    }

    /// <summary>UTF-8 JSON text of one event, on one line.</summary>
    public static string Text(JsonObject o) => (o ?? throw new ArgumentNullException(nameof(o))).ToJsonString(Options);
}
