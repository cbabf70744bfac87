using BenchmarkDotNet.Attributes;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Benchmarks;

/// <summary>
/// The detector's batch path in-process, per sample: <see cref="SampleBatchDecoder"/> on records of
/// one host's tick (100 processes, 3 counters each), then validation and the rules.
/// </summary>
[MemoryDiagnoser]
public class SampleBatchBenchmarks
{
    private const int PerBatch = 100;
    private const int Batches = 10;
    private readonly List<Detection> _out = [];
    private readonly SampleBatchDecoder _decoder = new();
    private byte[][] _encoded = [];
    private DetectorEngine _engine = null!;
    private InMemoryRuleStateStore _store = null!;

    /// <summary>The two rules every batch benchmark evaluates.</summary>
    internal const string RulesYaml = """
        rules:
          - { name: cs-storm, counter: context-switches, threshold: 2000, scope: core, sustain: 2 }
          - { name: fault-storm, counter: page-faults, threshold: 50000, scope: machine }
        """;

    /// <summary>The detector's work on the first <paramref name="count"/> decoded samples: validate, then evaluate.</summary>
    internal static void Detect(SampleBatchDecoder decoder, int count, DetectorEngine engine, IRuleStateStore store, List<Detection> output)
    {
        for (var i = 0; i < count; i++)
        {
            var s = decoder[i];
            if (SampleValidator.Problem(s) is null)
            {
                engine.Evaluate(s, store, output);
            }
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _engine = new DetectorEngine(RulesParser.Parse(RulesYaml, "bench.yaml"));
        _store = new InMemoryRuleStateStore();
        var codec = new SingleObjectCodec<SampleBatch>();
        _encoded = [.. Enumerable.Range(0, Batches).Select(b => codec.Encode(SampleBatches.From(
            [.. Enumerable.Range(1, PerBatch).Select(i => Sample($"h{b}", i, (b * PerBatch) + i))])))];
    }

    private static CounterSample Sample(string host, int pid, long seq) => new()
    {
        host = host,
        entity = new EntityRef { datacenter = "dc1", host = host, pid = pid, comm = "worker", startTime = 123_456 + pid },
        values = new Dictionary<string, long>
        {
            ["context-switches"] = pid % 7 == 0 ? 5000 : 100, ["page-faults"] = 10, ["cpu-migrations"] = 3,
        },
        intervalNs = 1_000_000_000,
        timestampNs = 1_700_000_000_000_000_000 + (pid * 2_000L),
        seq = seq,
    };

    [Benchmark(OperationsPerInvoke = PerBatch * Batches, Description = "SampleBatch: decode, per sample")]
    public int Decode()
    {
        var n = 0;
        foreach (var bytes in _encoded)
        {
            n += _decoder.Decode(bytes);
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = PerBatch * Batches, Description = "SampleBatch: validate + evaluate 2 rules (decoded views), per sample")]
    public int Evaluate()
    {
        _out.Clear();
        _decoder.Decode(_encoded[0]);
        for (var round = 0; round < Batches; round++)
        {
            Detect(_decoder, _decoder.Count, _engine, _store, _out);
        }
        return _out.Count;
    }

    [Benchmark(OperationsPerInvoke = PerBatch * Batches, Description = "SampleBatch: decode + validate + evaluate, per sample")]
    public int DecodeValidateEvaluate()
    {
        _out.Clear();
        foreach (var bytes in _encoded)
        {
            Detect(_decoder, _decoder.Decode(bytes), _engine, _store, _out);
        }
        return _out.Count;
    }
}
