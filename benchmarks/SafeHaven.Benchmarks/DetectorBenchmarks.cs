using BenchmarkDotNet.Attributes;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;

namespace SafeHaven.Benchmarks;

/// <summary>The detection core in-process: rule evaluation and the Avro codec, per sample.</summary>
[MemoryDiagnoser]
public class DetectorBenchmarks
{
    private const int Entities = 1000;
    private readonly List<Detection> _out = [];
    private CounterSample[] _samples = [];
    private byte[][] _encoded = [];
    private DetectorEngine _engine = null!;
    private InMemoryRuleStateStore _store = null!;
    private readonly SingleObjectCodec<CounterSample> _codec = new();

    [GlobalSetup]
    public void Setup()
    {
        _engine = new DetectorEngine(RulesParser.Parse("""
            rules:
              - { name: cs-storm, counter: context-switches, threshold: 2000, scope: core, sustain: 2 }
              - { name: fault-storm, counter: page-faults, threshold: 50000, scope: machine }
            """, "bench.yaml"));
        _store = new InMemoryRuleStateStore();
        _samples = [.. Enumerable.Range(1, Entities).Select(i => new CounterSample
        {
            host = "h1",
            entity = new EntityRef { datacenter = "dc1", host = "h1", pid = i, comm = "p" },
            values = new Dictionary<string, long> { ["context-switches"] = i % 7 == 0 ? 5000 : 100, ["page-faults"] = 10 },
            intervalNs = 1_000_000_000,
            timestampNs = 1_700_000_000_000_000_000,
            seq = i,
        })];
        _encoded = [.. _samples.Select(_codec.Encode)];
    }

    [Benchmark(OperationsPerInvoke = Entities, Description = "evaluate 2 rules, per sample")]
    public int Evaluate()
    {
        _out.Clear();
        foreach (var s in _samples)
        {
            _engine.Evaluate(s, _store, _out);
        }
        return _out.Count;
    }

    [Benchmark(OperationsPerInvoke = Entities, Description = "decode + validate + evaluate, per sample")]
    public int DecodeValidateEvaluate()
    {
        _out.Clear();
        foreach (var bytes in _encoded)
        {
            var s = _codec.Decode(bytes);
            if (SampleValidator.Problem(s) is null)
            {
                _engine.Evaluate(s, _store, _out);
            }
        }
        return _out.Count;
    }

    [Benchmark(OperationsPerInvoke = Entities, Description = "encode CounterSample, per sample")]
    public int Encode()
    {
        var n = 0;
        foreach (var s in _samples)
        {
            n += _codec.Encode(s).Length;
        }
        return n;
    }
}
