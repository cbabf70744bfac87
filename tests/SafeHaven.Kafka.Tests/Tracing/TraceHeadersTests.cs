using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Kafka.Tracing;
using SafeHaven.Security;

namespace SafeHaven.Kafka.Tests.Tracing;

/// <summary>
/// W3C trace context in record headers: what a span writes is read back as its context; anything not exactly a
/// version-00 traceparent is ignored; the headers change no seal. One class: the listener is process-wide, and the
/// no-listener case must run without it.
/// </summary>
public sealed class TraceHeadersTests
{
    private const string Valid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public void A_spans_context_injected_into_headers_is_extracted_as_its_remote_parent()
    {
        using var listener = Listen();
        using var span = SafeHavenActivity.StartProducer(SafeHavenActivity.Probe, SafeHavenActivity.SamplesPublish);
        Assert.NotNull(span);
        span.TraceStateString = "vendor=x";
        var headers = new Headers { { "sh-key", [1, 2] } };

        TraceHeaders.Inject(span, headers);
        TraceHeaders.Inject(span, headers); // a second inject replaces, never duplicates

        Assert.Single(headers, h => h.Key == TraceHeaders.TraceParent);
        Assert.True(TraceHeaders.TryExtract(headers, out var context));
        // The sampled bit travels (the codec round-trips it) but is not taken: the local sampler decides.
        Assert.True(TraceHeaders.TryParse(headers.GetLastBytes(TraceHeaders.TraceParent), out _, out _, out var sent));
        Assert.Equal(ActivityTraceFlags.Recorded, sent);
        Assert.Equal((span.TraceId, span.SpanId, ActivityTraceFlags.None, "vendor=x", true),
            (context.TraceId, context.SpanId, context.TraceFlags, context.TraceState, context.IsRemote));
        using var child = SafeHavenActivity.StartConsumer(SafeHavenActivity.Detector, SafeHavenActivity.Detect, headers);
        Assert.Equal((span.TraceId, span.SpanId), (child!.TraceId, child.ParentSpanId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0")] // 54 characters
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011")] // 56
    [InlineData("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")] // another version
    [InlineData("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    [InlineData("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01")] // upper case
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01")] // zero trace id
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01")] // zero span id
    [InlineData("00_0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331_01")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01")] // not hex
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x")]
    public void A_malformed_traceparent_is_ignored_counted_and_the_span_starts_its_own_trace(string value)
    {
        using var listener = Listen();
        using var malformed = new MalformedCount();
        var headers = new Headers { { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes(value) } };

        Assert.False(TraceHeaders.TryExtract(headers, out _));
        using var span = SafeHavenActivity.StartConsumer(SafeHavenActivity.Detector, SafeHavenActivity.Detect, headers);
        Assert.NotNull(span);
        Assert.Equal(default, span.ParentSpanId);
        Assert.Equal(2, malformed.Of(TraceHeaders.TraceParent)); // once by TryExtract, once by StartConsumer
        // An absent header is no malformed one.
        Assert.False(TraceHeaders.TryExtract(new Headers { { "sh-key", [1] } }, out _));
        Assert.Equal(2, malformed.Of(TraceHeaders.TraceParent));
    }

    [Fact]
    public void A_records_sampled_flag_neither_forces_nor_suppresses_recording()
    {
        var parents = new List<ActivityTraceFlags>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = SafeHavenActivity.IsOurs,
            // What a parent-based sampler would look at: the parent's flags.
            Sample = (ref ActivityCreationOptions<ActivityContext> o) =>
            {
                parents.Add(o.Parent.TraceFlags);
                return ActivitySamplingResult.AllDataAndRecorded;
            },
        };
        ActivitySource.AddActivityListener(listener);
        foreach (var flags in new[] { "00", "01", "ff" })
        {
            var headers = new Headers { { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes(Valid[..53] + flags) } };
            using var span = SafeHavenActivity.StartConsumer(SafeHavenActivity.Planner, SafeHavenActivity.Plan, headers);
            Assert.Equal("0af7651916cd43dd8448eb211c80319c", span!.TraceId.ToHexString());
        }
        Assert.Equal([ActivityTraceFlags.None, ActivityTraceFlags.None, ActivityTraceFlags.None], parents);
    }

    [Fact]
    public void Each_role_has_its_own_source_under_one_prefix()
    {
        Assert.Equal(["SafeHaven.Probe", "SafeHaven.Detector", "SafeHaven.Planner", "SafeHaven.Actuator"], SafeHavenActivity.Sources.Select(s => s.Name));
        Assert.All(SafeHavenActivity.Sources, s => Assert.StartsWith(SafeHavenActivity.SourcePrefix, s.Name, StringComparison.Ordinal));
        Assert.All(SafeHavenActivity.Sources, s => Assert.True(SafeHavenActivity.IsOurs(s)));
        using var other = new ActivitySource("SafeHaven.Probes.Other");
        Assert.False(SafeHavenActivity.IsOurs(other));
    }

    [Fact]
    public void Oversized_binary_and_duplicate_headers_are_bounded_and_the_last_traceparent_counts()
    {
        using var malformed = new MalformedCount();
        var huge = new byte[1 << 20];
        Array.Fill(huge, (byte)'a');
        Assert.False(TraceHeaders.TryExtract(new Headers { { TraceHeaders.TraceParent, huge } }, out _));
        Assert.False(TraceHeaders.TryExtract(new Headers { { TraceHeaders.TraceParent, [0xff, 0xfe, 0, 1] } }, out _));
        Assert.False(TraceHeaders.TryExtract(new Headers { { TraceHeaders.TraceParent, null } }, out _));
        Assert.False(TraceHeaders.TryExtract(null, out _));
        // A valid parent with a hostile tracestate keeps the parent and drops the state.
        var headers = new Headers
        {
            { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes("garbage") },
            { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes(Valid) },
            { TraceHeaders.TraceState, huge },
        };
        Assert.True(TraceHeaders.TryExtract(headers, out var context));
        Assert.Equal(("0af7651916cd43dd8448eb211c80319c", (string?)null), (context.TraceId.ToHexString(), context.TraceState));
        headers.Add(TraceHeaders.TraceState, [0x01, 0x7f]);
        Assert.True(TraceHeaders.TryExtract(headers, out context));
        Assert.Null(context.TraceState);
        Assert.Equal((3, 2), (malformed.Of(TraceHeaders.TraceParent), malformed.Of(TraceHeaders.TraceState)));
    }

    [Fact]
    public void Without_a_listener_no_span_starts_and_nothing_is_written()
    {
        var headers = new Headers { { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes(Valid) } };

        Assert.All(SafeHavenActivity.Sources, source =>
        {
            Assert.Null(SafeHavenActivity.StartConsumer(source, SafeHavenActivity.Detect, headers));
            Assert.Null(SafeHavenActivity.StartProducer(source, SafeHavenActivity.SamplesPublish));
        });
        var written = new Headers();
        TraceHeaders.Inject(null, written);
        Assert.Empty(written);
    }

    [Fact]
    public void A_trace_header_added_or_forged_after_sealing_leaves_the_seal_valid()
    {
        using var signer = RecordSigner.Ephemeral(KeyRoles.Detector, "detector");
        var verifier = RecordVerifier.Trusting(signer);
        var value = new byte[] { 1, 2, 3 };
        var headers = Seals.Headers(signer, Seals.Kinds.Detections, "dc1/h1/pid/7", value);
        headers.Add(TraceHeaders.TraceParent, Encoding.ASCII.GetBytes(Valid));
        Assert.Equal(signer.Identity, Seals.Require(verifier, Seals.Kinds.Detections, Encoding.UTF8.GetBytes("dc1/h1/pid/7"), value, headers));
        headers.Add(TraceHeaders.TraceParent, new byte[4096]);
        Assert.Equal(signer.Identity, Seals.Require(verifier, Seals.Kinds.Detections, Encoding.UTF8.GetBytes("dc1/h1/pid/7"), value, headers));
        // And the seal still catches a changed value: trace headers open no hole.
        Assert.Throws<SafeHaven.Kafka.Serialization.RecordRejectedException>(() =>
            Seals.Require(verifier, Seals.Kinds.Detections, Encoding.UTF8.GetBytes("dc1/h1/pid/7"), [1, 2, 4], headers));
    }

    private static ActivityListener Listen()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = SafeHavenActivity.IsOurs,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>What <see cref="TraceHeaders.MalformedName"/> counted on this thread (other classes' tests run alongside).</summary>
    private sealed class MalformedCount : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly int _thread = Environment.CurrentManagedThreadId;
        private readonly Dictionary<string, long> _byHeader = [];

        public MalformedCount()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == LogStartWatch.MeterName && instrument.Name == TraceHeaders.MalformedName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                if (Environment.CurrentManagedThreadId != _thread)
                {
                    return;
                }
                foreach (var tag in tags)
                {
                    if (tag.Key == "header" && tag.Value is string header)
                    {
                        _byHeader[header] = _byHeader.GetValueOrDefault(header) + value;
                    }
                }
            });
            _listener.Start();
        }

        public long Of(string header) => _byHeader.GetValueOrDefault(header);

        public void Dispose() => _listener.Dispose();
    }
}
