using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Demo;

/// <summary>Renders a demo run as a readable timeline (stderr-free, stdout) or one JSON document.</summary>
internal static class DemoReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void WriteTimeline(DemoOutcome o, TextWriter w)
    {
        w.WriteLine(string.Create(Inv, $"SafeHaven demo: benign pid {o.BenignPid} and noisy pid {o.NoisyPid} on shared CPUs {o.Shared}; isolation pool {o.Pool}"));
        w.WriteLine("      ms  event");
        Line(w, 0, $"noisy pid {o.NoisyPid} starts its context-switch storm");
        foreach (var (_, s) in o.Observed.Samples.Where(s => s.Sample.entity.pid == o.NoisyPid && s.Sample.timestampNs > o.GoAtNs).Take(3))
        {
            var rates = string.Join(", ", s.values.Select(kv => string.Create(Inv, $"{kv.Key} {kv.Value * 1e9 / s.intervalNs:N0}/s")));
            Line(w, o.Ms(s.timestampNs), $"sample   seq {s.seq}: {rates} over {s.intervalNs / 1e6:F0} ms");
        }
        if (o.NoisyDetection is var (dAt, d))
        {
            Line(w, o.Ms(dAt), $"detection {d.rule}: {d.counter} at {d.rate:N0}/s > ε {d.threshold:N0}/s, scope {d.scope} (window ended at +{o.Ms(d.detectedAtNs):F1} ms)");
        }
        if (o.NoisyCommand is var (_, c))
        {
            Line(w, o.Ms(c.issuedAtNs), $"command  {c.commandId}: level {c.level} → CPU {c.target} on {c.source}{(c.dryRun ? " (dry run)" : "")}");
            foreach (var reason in c.reasons)
            {
                w.WriteLine($"            reason: {reason}");
            }
        }
        if (o.NoisyResult is var (_, r))
        {
            var phases = string.Join(", ", r.phases.Select(p => string.Create(Inv, $"{p.Key} {p.Value / 1e6:F3}")));
            Line(w, o.Ms(r.finishedAtNs), $"result   {r.status}: pid {o.NoisyPid} allowed on CPU {r.cpus} in {(r.finishedAtNs - r.startedAtNs) / 1e6:F3} ms ({phases}){(r.error is null ? "" : " — " + r.error)}");
        }
        w.WriteLine();
        w.WriteLine($"noisy  pid {o.NoisyPid}: every thread allowed on {o.NoisyCpusAfter} ({(o.NoisyIsolated ? "isolated" : "NOT isolated")})");
        w.WriteLine($"benign pid {o.BenignPid}: every thread allowed on {o.BenignCpusAfter} ({(o.BenignUntouched ? "untouched" : "MOVED")})");
        if (Summary(o) is { } sum)
        {
            w.WriteLine(string.Create(Inv, $"summary: detection {sum.DetectionMs:F1} ms after the storm began; sample→result {sum.SampleToResultMs:F1} ms; core move {sum.MoveMs:F3} ms"));
        }
        w.WriteLine(o.Succeeded ? "OK: the noisy workload runs alone on the isolation pool." : "FAILED: see above.");
    }

    public static void WriteJson(DemoOutcome o, Stream stdout)
    {
        var doc = new JsonObject
        {
            ["ok"] = o.Succeeded,
            ["pool"] = o.Pool.ToString(),
            ["shared"] = o.Shared.ToString(),
            ["benign"] = new JsonObject { ["pid"] = o.BenignPid, ["cpus"] = o.BenignCpusAfter, ["untouched"] = o.BenignUntouched },
            ["noisy"] = new JsonObject { ["pid"] = o.NoisyPid, ["cpus"] = o.NoisyCpusAfter, ["isolated"] = o.NoisyIsolated, ["stormStartedAtNs"] = o.GoAtNs },
            ["detections"] = new JsonArray([.. o.Observed.Detections.Select(d => Detection(d.Detection, d.AtNs))]),
            ["results"] = new JsonArray([.. o.Observed.Results.Select(r => Result(r.Result))]),
        };
        if (Summary(o) is { } s)
        {
            doc["summary"] = new JsonObject { ["detectionMs"] = s.DetectionMs, ["sampleToResultMs"] = s.SampleToResultMs, ["moveMs"] = s.MoveMs };
            if (Hops(o) is { } hops)
            {
                doc["summary"]!["hopsMs"] = hops;
            }
        }
        using var writer = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        doc.WriteTo(writer);
        writer.Flush();
        stdout.WriteByte((byte)'\n');
    }

    private static (double DetectionMs, double SampleToResultMs, double MoveMs)? Summary(DemoOutcome o) =>
        o.NoisyDetection is var (dAt, d) && o.NoisyResult is var (_, r)
            ? (o.Ms(dAt), (r.finishedAtNs - d.detectedAtNs) / 1e6, (r.finishedAtNs - r.startedAtNs) / 1e6)
            : null;

    // Where the sample→result time goes, hop by hop (all clocks are this host's).
    private static JsonObject? Hops(DemoOutcome o)
    {
        if (o.NoisyDetection is not var (dAt, d) || o.NoisyCommand is not var (_, c) || o.NoisyResult is not var (_, r))
        {
            return null;
        }
        var sample = o.Observed.Samples.FirstOrDefault(s => s.Sample.host == d.entity.host && s.Sample.seq == d.sampleSeq);
        return new JsonObject
        {
            ["sampleSeen"] = sample.Sample is null ? null : (sample.AtNs - d.detectedAtNs) / 1e6,
            ["detectionSeen"] = (dAt - d.detectedAtNs) / 1e6,
            ["commandIssued"] = (c.issuedAtNs - d.detectedAtNs) / 1e6,
            ["actuatorStarted"] = (r.startedAtNs - d.detectedAtNs) / 1e6,
            ["resultFinished"] = (r.finishedAtNs - d.detectedAtNs) / 1e6,
        };
    }

    private static JsonObject Detection(Detection d, long observedAtNs) => new()
    {
        ["detectionId"] = d.detectionId,
        ["entity"] = Entity(d.entity),
        ["rule"] = d.rule,
        ["counter"] = d.counter,
        ["rate"] = d.rate,
        ["threshold"] = d.threshold,
        ["scope"] = d.scope,
        ["detectedAtNs"] = d.detectedAtNs,
        ["firstSampleAtNs"] = d.firstSampleAtNs,
        ["observedAtNs"] = observedAtNs,
    };

    private static JsonObject Result(IsolationResult r) => new()
    {
        ["commandId"] = r.commandId,
        ["level"] = r.level,
        ["status"] = r.status,
        ["error"] = r.error,
        ["pid"] = r.entity.pid,
        ["cpus"] = r.cpus,
        ["phases"] = new JsonObject(r.phases.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value / 1e6)))),
        ["totalMs"] = (r.finishedAtNs - r.startedAtNs) / 1e6,
        ["startedAtNs"] = r.startedAtNs,
        ["finishedAtNs"] = r.finishedAtNs,
    };

    private static JsonObject Entity(EntityRef e) => new()
    {
        ["datacenter"] = e.datacenter, ["host"] = e.host, ["vm"] = e.vm, ["container"] = e.container, ["pid"] = e.pid, ["comm"] = e.comm,
    };

    private static void Line(TextWriter w, double ms, string text) => w.WriteLine(string.Create(Inv, $"{ms,8:F1}  {text}"));
}
