using BenchmarkDotNet.Attributes;
using SafeHaven.Core;
using SafeHaven.Core.Samples;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Schemas;
using SafeHaven.Security;

namespace SafeHaven.Benchmarks;

/// <summary>
/// Ed25519 per record (NSec/libsodium): the planner's command signature over <see cref="CanonicalCommand"/> and the
/// agent's check of it, and the record seals (kind, key, value) of a detection and of a probe's SampleBatch of 100.
/// </summary>
[MemoryDiagnoser]
public class SealBenchmarks
{
    private CommandSigner _commands = null!;
    private CommandVerifier _commandKeys = null!;
    private IsolationCommand _command = null!;
    private RecordSigner _detector = null!;
    private RecordSigner _probe = null!;
    private RecordVerifier _records = null!;
    private byte[] _key = [];
    private byte[] _detection = [];
    private byte[] _batch = [];
    private byte[] _detectionSeal = [];
    private byte[] _batchSeal = [];

    [GlobalSetup]
    public void Setup()
    {
        _commands = CommandSigner.Ephemeral(out _commandKeys);
        // A command as the planner writes it: one reason per level tried.
        _command = new IsolationCommand
        {
            commandId = "c-dc1-h42-1700000000000000000-17-cs-storm-core", detectionId = "dc1-h42-1700000000000000000-17-cs-storm",
            entity = new EntityRef { datacenter = "dc1", host = "h42", pid = 4242, comm = "worker", startTime = 123_456 },
            level = Levels.Core, action = Actions.Isolate, source = "act-h42", target = "3", issuedAtNs = 1_700_000_000_000_000_000,
            deadlineNs = 1_700_000_010_000_000_000, reasons = ["level core: exclusive CPU 3 of act-h42's pool 2-7 for group pgid:4242@dc1/h42"],
            group = "pgid:4242@dc1/h42", signature = [],
        };
        _commands.Sign(_command);
        _detector = RecordSigner.Ephemeral(KeyRoles.Detector, "detector");
        _probe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h42");
        _records = RecordVerifier.Trusting(_detector, _probe);
        _key = "dc1/h42/pid/4242"u8.ToArray();
        _detection = new SingleObjectCodec<Detection>().Encode(new Detection
        {
            detectionId = "dc1-h42-1700000000000000000-17-cs-storm", entity = _command.entity, rule = "cs-storm", counter = "context-switches",
            rate = 50_000, threshold = 1000, scope = Scopes.Core, detectedAtNs = 1_700_000_000_000_000_000,
            firstSampleAtNs = 1_699_999_999_000_000_000, kind = DetectionKinds.Detected,
        });
        _batch = new SingleObjectCodec<SampleBatch>().Encode(SampleBatches.From([.. Enumerable.Range(1, 100).Select(i => new CounterSample
        {
            host = "h42", entity = new EntityRef { datacenter = "dc1", host = "h42", pid = i, comm = "worker", startTime = 1000 + i },
            values = new Dictionary<string, long> { ["context-switches"] = 100, ["page-faults"] = 10, ["cpu-migrations"] = 3 },
            intervalNs = 1_000_000_000, timestampNs = 1_700_000_000_000_000_000 + i, seq = i,
        })]));
        _detectionSeal = _detector.Sign("detections", _key, _detection);
        _batchSeal = _probe.Sign("samples", "h42"u8, _batch);
    }

    [Benchmark(Description = "command: sign (canonical bytes + Ed25519)")]
    public byte[] SignCommand()
    {
        _commands.Sign(_command);
        return _command.signature;
    }

    [Benchmark(Description = "command: verify (the agent's signature check)")]
    public string? VerifyCommand() => _commandKeys.Problem(_command);

    [Benchmark(Description = "record seal: sign a detection")]
    public byte[] SealDetection() => _detector.Sign("detections", _key, _detection);

    [Benchmark(Description = "record seal: verify a detection")]
    public string? VerifyDetection() => _records.Verify("detections", _key, _detection, _detector.Identity.KeyId, _detectionSeal).Problem;

    [Benchmark(Description = "record seal: sign a SampleBatch of 100 samples")]
    public byte[] SealBatch() => _probe.Sign("samples", "h42"u8, _batch);

    [Benchmark(Description = "record seal: verify a SampleBatch of 100 samples")]
    public string? VerifyBatch() => _records.Verify("samples", "h42"u8, _batch, _probe.Identity.KeyId, _batchSeal).Problem;

    [GlobalCleanup]
    public void Cleanup()
    {
        _commands.Dispose();
        _detector.Dispose();
        _probe.Dispose();
    }
}
