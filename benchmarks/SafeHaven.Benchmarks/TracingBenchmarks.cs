using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using Confluent.Kafka;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Kafka.Tracing;
using SafeHaven.Schemas;

namespace SafeHaven.Benchmarks;

/// <summary>
/// What tracing adds to the detector's work on a samples record (100 processes of one host's tick), per sample: the
/// record's span, child of its <c>traceparent</c> header, and the context written on each detection's headers, as
/// <c>DetectorTransformer</c> does. Three modes: <c>Off</c> (no listener: the span is one check), <c>NotSampled</c>
/// (a listener whose sampler drops the trace: the span exists for its context, as OpenTelemetry's ratio sampler makes
/// it, but records nothing), <c>Sampled</c> (every span recorded, as with export on at ratio 1).
/// </summary>
[MemoryDiagnoser]
public class TracingBenchmarks
{
    private const int PerBatch = 100;
    private const int Batches = 10;
    private readonly List<Detection> _out = [];
    private readonly SampleBatchDecoder _decoder = new();
    private byte[][] _encoded = [];
    private DetectorEngine _engine = null!;
    private InMemoryRuleStateStore _store = null!;
    private ActivityListener? _listener;
    // A finished span: its ids are all the codec needs, whatever listens.
    private Activity _codecSpan = null!;
    private readonly Headers _headers = new()
    {
        { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") },
    };

    /// <summary>What listens to the detector's source.</summary>
    public enum Mode
    {
        /// <summary>No listener.</summary>
        Off,

        /// <summary>A listener that keeps the context only (<see cref="ActivitySamplingResult.PropagationData"/>).</summary>
        NotSampled,

        /// <summary>A listener that records every span (<see cref="ActivitySamplingResult.AllDataAndRecorded"/>).</summary>
        Sampled,
    }

    /// <summary>The mode measured.</summary>
    [Params(Mode.Off, Mode.NotSampled, Mode.Sampled)]
    public Mode Tracing { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _codecSpan = new Activity("codec").SetIdFormat(ActivityIdFormat.W3C).Start();
        _codecSpan.Stop();
        _engine = new DetectorEngine(RulesParser.Parse(SampleBatchBenchmarks.RulesYaml, "bench.yaml"));
        _store = new InMemoryRuleStateStore();
        var codec = new SingleObjectCodec<SampleBatch>();
        _encoded = [.. Enumerable.Range(0, Batches).Select(b => codec.Encode(SampleBatches.From(
            [.. Enumerable.Range(1, PerBatch).Select(i => new CounterSample
            {
                host = $"h{b}",
                entity = new EntityRef { datacenter = "dc1", host = $"h{b}", pid = i, comm = "worker", startTime = 123_456 + i },
                values = new Dictionary<string, long> { ["context-switches"] = i % 7 == 0 ? 5000 : 100, ["page-faults"] = 10, ["cpu-migrations"] = 3 },
                intervalNs = 1_000_000_000,
                timestampNs = 1_700_000_000_000_000_000 + (i * 2_000L),
                seq = (b * PerBatch) + i,
            })])))];
        if (Tracing != Mode.Off)
        {
            var result = Tracing == Mode.Sampled ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.PropagationData;
            _listener = new ActivityListener
            {
                ShouldListenTo = SafeHavenActivity.IsOurs,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => result,
            };
            ActivitySource.AddActivityListener(_listener);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _listener?.Dispose();

    [Benchmark(OperationsPerInvoke = PerBatch * Batches, Description = "SampleBatch: span + decode + validate + evaluate + detection headers, per sample")]
    public int DetectRecord()
    {
        var written = 0;
        foreach (var bytes in _encoded)
        {
            using var span = SafeHavenActivity.StartConsumer(SafeHavenActivity.Detector, SafeHavenActivity.Detect, _headers);
            _out.Clear();
            SampleBatchBenchmarks.Detect(_decoder, _decoder.Decode(bytes), _engine, _store, _out);
            foreach (var unused in _out)
            {
                var headers = new Headers();
                TraceHeaders.Inject(span, headers);
                written += headers.Count;
            }
        }
        return written;
    }

    /// <summary>
    /// Tracing's own cost on one record, without the work it wraps: the consumer span from the record's header, its
    /// context written on one outgoing record's headers, the span stopped. What each hop adds per record.
    /// </summary>
    [Benchmark(Description = "span from header + inject + stop, per record")]
    public int SpanPerRecord()
    {
        using var span = SafeHavenActivity.StartConsumer(SafeHavenActivity.Detector, SafeHavenActivity.Detect, _headers);
        var headers = new Headers();
        TraceHeaders.Inject(span, headers);
        return headers.Count;
    }

    /// <summary>The header codec alone: one traceparent written and read back (what each hop adds, per record).</summary>
    [Benchmark(Description = "traceparent inject + extract, per record")]
    public bool HeaderRoundTrip()
    {
        var headers = new Headers();
        TraceHeaders.Inject(_codecSpan, headers);
        return TraceHeaders.TryExtract(headers, out _);
    }
}
