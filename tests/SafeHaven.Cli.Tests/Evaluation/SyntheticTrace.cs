using SafeHaven.Schemas;
using SafeHaven.Traces;

namespace SafeHaven.Cli.Tests.Evaluation;

/// <summary>A small trace written with the real <see cref="TraceWriter"/>, in a temp directory deleted on dispose.</summary>
internal sealed class SyntheticTrace : IDisposable
{
    public const string Host = "h1";
    public const long Second = 1_000_000_000L;
    public const long T0 = 1_700_000_000L * Second;

    public SyntheticTrace()
    {
        Dir = Directory.CreateTempSubdirectory("safehaven-eval-test-").FullName;
    }

    public string Dir { get; }

    public string File(string name) => Path.Combine(Dir, name);

    /// <summary>
    /// 10 windows of 1 s: pid 10 a channel from T0+4 s (50,000 context switches/s), pid 20 benign (100/s); a result that
    /// moved pid 10 5 ms after its detection, and the detection the live detector recorded.
    /// </summary>
    public string WriteChannelTrace(string name = "channel.trace")
    {
        var path = File(name);
        using var writer = TraceWriter.Create(path);
        var seq = 0L;
        for (var i = 1; i <= 10; i++)
        {
            writer.Append(TraceEntry.OfSample(Sample(10, seq++, T0 + (i * Second), i >= 5 ? 50_000 : 100), 0));
            writer.Append(TraceEntry.OfSample(Sample(20, seq++, T0 + (i * Second), 100), 0));
        }
        var detected = T0 + (5 * Second);
        writer.Append(TraceEntry.OfDetection("dc1/h1/pid/10", new Detection
        {
            detectionId = $"{Host}:{detected}:8:storm", entity = Entity(10), rule = "storm", counter = "context-switches",
            rate = 50_000, threshold = 2000, scope = "core", detectedAtNs = detected, firstSampleAtNs = detected - Second, kind = "detected",
        }, detected));
        writer.Append(TraceEntry.OfResult(new IsolationResult
        {
            commandId = "c1", entity = Entity(10), level = "core", status = "succeeded",
            startedAtNs = detected + 10_000_000, finishedAtNs = detected + 15_000_000, phases = new Dictionary<string, long>(), actuator = "h1",
        }, detected));
        return path;
    }

    public string WriteText(string name, string text)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public string Rules() => WriteText("rules.yaml", "rules:\n  - name: storm\n    counter: context-switches\n    threshold: 2000\n    scope: core\n");

    public string Labels() => WriteText("labels.csv", $"host,pid,label,onsetNs\n{Host},10,channel,{T0 + (4 * Second)}\n{Host},20,benign,\n");

    public void Dispose() => Directory.Delete(Dir, recursive: true);

    private static EntityRef Entity(int pid) => new() { datacenter = "dc1", host = Host, pid = pid, comm = pid == 10 ? "noisy" : "benign" };

    private static CounterSample Sample(int pid, long seq, long end, long count) => new()
    {
        host = Host, entity = Entity(pid), seq = seq, timestampNs = end, intervalNs = Second,
        values = new Dictionary<string, long>(StringComparer.Ordinal) { ["context-switches"] = count, ["page-faults"] = pid * 3 },
    };
}
