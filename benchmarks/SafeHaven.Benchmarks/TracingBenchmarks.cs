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
/// <c>DetectorTransformer</c> does. Untraced, no listener exists and the span is one check.
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
    private readonly Headers _headers = new()
    {
        { TraceHeaders.TraceParent, Encoding.ASCII.GetBytes("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01") },
    };

    /// <summary>True: a listener samples every span (as the OTLP exporter does); false: none.</summary>
    [Params(false, true)]
    public bool Traced { get; set; }

    [GlobalSetup]
    public void Setup()
    {
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
        if (Traced)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = s => s.Name == SafeHavenActivity.SourceName,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
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
            using var span = SafeHavenActivity.StartConsumer(SafeHavenActivity.Detect, _headers);
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
}
