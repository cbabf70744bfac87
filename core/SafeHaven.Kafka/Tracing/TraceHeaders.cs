using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;

namespace SafeHaven.Kafka.Tracing;

/// <summary>
/// W3C Trace Context (https://www.w3.org/TR/trace-context/) in Kafka record headers (docs/DESIGN.md, "Trace headers").
/// The headers are not part of any seal (docs/SECURITY.md): anyone who can write a record can write them, so they are
/// read strictly and bounded, and whatever does not parse is dropped and counted (<see cref="MalformedName"/>): the
/// span then starts a trace of its own, and the record is processed exactly as if the header were absent.
/// </summary>
public static class TraceHeaders
{
    /// <summary>The header holding <c>00-{trace id}-{parent span id}-{flags}</c>.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The header holding vendor state, passed along as is when valid.</summary>
    public const string TraceState = "tracestate";

    /// <summary>The only length of a version-00 traceparent.</summary>
    public const int TraceParentLength = 55;

    /// <summary>The longest tracestate kept (the specification's 32 members of at most 256 characters fit in far less in practice).</summary>
    public const int MaxTraceStateLength = 512;

    /// <summary>Counter (meter <c>SafeHaven.Kafka</c>) of trace headers present but dropped as malformed, tagged <c>header</c>.</summary>
    public const string MalformedName = "safehaven.trace.headers.malformed";

    private static readonly Meter Meter = new(Clients.LogStartWatch.MeterName);
    private static readonly Counter<long> Malformed = Meter.CreateCounter<long>(MalformedName, unit: "{header}",
        description: "traceparent or tracestate record headers dropped because they were not strictly W3C (the span starts its own trace).");

    /// <summary>Writes <paramref name="activity"/>'s context into <paramref name="headers"/>, replacing any there; does nothing for null.</summary>
    public static void Inject(Activity? activity, Headers headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C)
        {
            return;
        }
        headers.Remove(TraceParent);
        headers.Remove(TraceState);
        headers.Add(TraceParent, Format(activity.TraceId, activity.SpanId, activity.ActivityTraceFlags));
        if (activity.TraceStateString is { Length: > 0 and <= MaxTraceStateLength } state && Printable(Encoding.ASCII.GetBytes(state)))
        {
            headers.Add(TraceState, Encoding.ASCII.GetBytes(state));
        }
    }

    /// <summary>The 55 ASCII bytes of a version-00 traceparent.</summary>
    public static byte[] Format(ActivityTraceId traceId, ActivitySpanId spanId, ActivityTraceFlags flags)
    {
        var bytes = new byte[TraceParentLength];
        Encoding.ASCII.GetBytes($"00-{traceId.ToHexString()}-{spanId.ToHexString()}-{((flags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}", bytes);
        return bytes;
    }

    /// <summary>
    /// The remote parent named by the last <see cref="TraceParent"/> header, when it is exactly a version-00
    /// traceparent (55 characters, lower-case hex, trace and span ids not all zero); a tracestate is kept only when it
    /// is printable ASCII of at most <see cref="MaxTraceStateLength"/> bytes. A header present but malformed is counted.
    /// </summary>
    /// <remarks>The context carries no trace flags: a record's writer cannot switch recording on or off (its sampled
    /// bit is parsed, then ignored); the local sampler decides, on the trace id (docs/OPERATIONS.md, "Traces").</remarks>
    public static bool TryExtract(Headers? headers, out ActivityContext context)
    {
        context = default;
        if (headers is null || !headers.TryGetLastBytes(TraceParent, out var parent))
        {
            return false;
        }
        if (!TryParse(parent, out var traceId, out var spanId, out _))
        {
            Malformed.Add(1, new KeyValuePair<string, object?>("header", TraceParent));
            return false;
        }
        string? state = null;
        if (headers.TryGetLastBytes(TraceState, out var s))
        {
            if (s is { Length: > 0 and <= MaxTraceStateLength } && Printable(s))
            {
                state = Encoding.ASCII.GetString(s);
            }
            else
            {
                Malformed.Add(1, new KeyValuePair<string, object?>("header", TraceState));
            }
        }
        context = new ActivityContext(traceId, spanId, ActivityTraceFlags.None, state, isRemote: true);
        return true;
    }

    /// <summary>Parses a version-00 traceparent exactly; anything else (other versions included) is refused.</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out ActivityTraceId traceId, out ActivitySpanId spanId, out ActivityTraceFlags flags)
    {
        (traceId, spanId, flags) = (default, default, ActivityTraceFlags.None);
        // The length first: nothing longer than 55 bytes is looked at any further.
        if (value.Length != TraceParentLength || value[0] != '0' || value[1] != '0' || value[2] != '-' || value[35] != '-' || value[52] != '-'
            || !LowerHex(value[3..35]) || !LowerHex(value[36..52]) || !LowerHex(value[53..55])
            || AllZero(value[3..35]) || AllZero(value[36..52]))
        {
            return false;
        }
        Span<char> chars = stackalloc char[TraceParentLength];
        Encoding.ASCII.GetChars(value, chars);
        traceId = ActivityTraceId.CreateFromString(chars[3..35]);
        spanId = ActivitySpanId.CreateFromString(chars[36..52]);
        flags = (HexValue(value[54]) & 1) != 0 ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None;
        return true;
    }

    private static bool LowerHex(ReadOnlySpan<byte> s)
    {
        foreach (var b in s)
        {
            if (b is not ((>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f')))
            {
                return false;
            }
        }
        return true;
    }

    private static bool Printable(ReadOnlySpan<byte> s) => !s.ContainsAnyExceptInRange((byte)0x20, (byte)0x7e);

    private static bool AllZero(ReadOnlySpan<byte> s) => !s.ContainsAnyExcept((byte)'0');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : b - 'a' + 10;
}
