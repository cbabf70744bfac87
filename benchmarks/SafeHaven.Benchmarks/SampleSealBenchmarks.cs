using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using SafeHaven.Core.Detector;
using SafeHaven.Core.Rules;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Benchmarks;

/// <summary>
/// The cost of checking samples (issue 10: at most 10 %): the detector's in-process work on a 2.2 KB batch of 100
/// samples (decode, validate, evaluate) with no seal, with a host MAC check, and with an Ed25519 check; per sample.
/// </summary>
[MemoryDiagnoser]
public class SampleSealBenchmarks
{
    private const int PerBatch = 100;
    private readonly List<Detection> _out = [];
    private readonly SampleBatchDecoder _decoder = new();
    private readonly byte[] _key = Encoding.UTF8.GetBytes("h1");
    private byte[] _value = [];
    private byte[] _seal = [];
    private string _keyId = "";
    private RecordVerifier _verifier = null!;
    private DetectorEngine _engine = null!;
    private InMemoryRuleStateStore _store = null!;

    /// <summary>none, mac or ed25519.</summary>
    [Params("none", "mac", "ed25519")]
    public string Seal { get; set; } = "none";

    [GlobalSetup]
    public void Setup()
    {
        _engine = new DetectorEngine(RulesParser.Parse(SampleBatchBenchmarks.RulesYaml, "bench.yaml"));
        _store = new InMemoryRuleStateStore();
        _value = new SingleObjectCodec<SampleBatch>().Encode(SampleBatches.From(
            [.. Enumerable.Range(1, PerBatch).Select(i => new CounterSample
            {
                host = "h1",
                entity = new EntityRef { datacenter = "dc1", host = "h1", pid = i, comm = "worker", startTime = 123_456 + i },
                values = new Dictionary<string, long> { ["context-switches"] = i % 7 == 0 ? 5000 : 100, ["page-faults"] = 10, ["cpu-migrations"] = 3 },
                intervalNs = 1_000_000_000,
                timestampNs = 1_700_000_000_000_000_000 + (i * 2_000L),
                seq = i,
            })]));
        RecordSigner signer;
        if (Seal == "mac")
        {
            var master = RandomNumberGenerator.GetBytes(32);
            _keyId = SampleMacKeys.KeyId(master);
            signer = RecordSigner.HostMac(SampleMacKeys.Derive(master, "dc1/h1"), new KeyIdentity(_keyId, KeyRoles.Probe, "dc1/h1"));
            _verifier = RecordVerifier.Trusting(new Dictionary<string, byte[]> { [_keyId] = master });
        }
        else
        {
            signer = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h1");
            _keyId = signer.Identity.KeyId;
            _verifier = RecordVerifier.Trusting(signer);
        }
        _seal = signer.Sign("samples", _key, _value);
    }

    [Benchmark(Description = "SampleBatch of 100: check its seal only, per record")]
    public bool CheckOnly() => Seal == "none" || _verifier.Verify("samples", _key, _value, _keyId, _seal, "dc1/h1").Who is not null;

    [Benchmark(OperationsPerInvoke = PerBatch, Description = "SampleBatch of 100: check seal + decode + validate + evaluate, per sample")]
    public int CheckAndDetect()
    {
        if (Seal != "none" && _verifier.Verify("samples", _key, _value, _keyId, _seal, "dc1/h1").Who is null)
        {
            throw new InvalidOperationException("the bench's seal must verify");
        }
        _out.Clear();
        SampleBatchBenchmarks.Detect(_decoder, _decoder.Decode(_value), _engine, _store, _out);
        return _out.Count;
    }
}
