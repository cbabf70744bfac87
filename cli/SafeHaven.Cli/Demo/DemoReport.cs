using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SafeHaven.Core;
using SafeHaven.Schemas;

namespace SafeHaven.Cli.Demo;

/// <summary>Renders a demo run as a readable timeline (stderr-free, stdout) or one JSON document.</summary>
internal static class DemoReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void WriteTimeline(DemoOutcome o, TextWriter w)
    {
        var vm = o.Vm;
        w.WriteLine(vm is null
            ? string.Create(Inv, $"SafeHaven demo: benign pid {o.BenignPid} and noisy pid {o.NoisyPid} on shared CPUs {o.Shared}; isolation pool {o.Pool}")
            : string.Create(Inv, $"SafeHaven demo --vm: guest '{vm.Name}' ({vm.MemoryMb} MiB, TCG, QEMU pid {o.NoisyPid}) on hypervisor {vm.SourceAgent}; hypervisor {vm.TargetAgent} has no tenant"));
        w.WriteLine("      ms  event");
        Line(w, 0, vm is null ? $"noisy pid {o.NoisyPid} starts its context-switch storm" : $"pipeline started; probe on {vm.SourceAgent} watches QEMU pid {o.NoisyPid}");
        foreach (var (_, s) in o.Observed.Samples.Where(s => o.IsSubject(s.Sample.entity) && s.Sample.timestampNs > o.GoAtNs).Take(3))
        {
            var rates = string.Join(", ", s.values.Select(kv => string.Create(Inv, $"{kv.Key} {kv.Value * 1e9 / s.intervalNs:N0}/s")));
            Line(w, o.Ms(s.timestampNs), $"sample   seq {s.seq}: {rates} over {s.intervalNs / 1e6:F0} ms");
        }
        if (o.NoisyDetection is var (dAt, d))
        {
            Line(w, o.Ms(dAt), $"detection {d.rule}: {d.counter} at {d.rate:N0}/s > ε {d.threshold:N0}/s, scope {d.scope} (window ended at +{o.Ms(d.detectedAtNs):F1} ms)");
            if (vm is not null)
            {
                // Why the planner does not even try the core level: docs/DESIGN.md §2, scope → minimum level.
                w.WriteLine($"            plan: scope {d.scope} starts at level {Scopes.MinimumLevel(d.scope)}; an exclusive core leaves the LLC and memory bus shared");
            }
        }
        if (o.NoisyCommand is var (_, c))
        {
            var what = vm is null ? $"CPU {c.target} on {c.source}" : $"migrate vm '{c.entity.vm}' from agent {c.source} to agent {c.target}";
            Line(w, o.Ms(c.issuedAtNs), $"command  {c.commandId}: level {c.level} → {what}{(c.dryRun ? " (dry run)" : "")}");
            foreach (var reason in c.reasons)
            {
                w.WriteLine($"            reason: {reason}");
            }
        }
        if (o.NoisyResult is var (_, r))
        {
            var phases = string.Join(", ", r.phases.Select(p => string.Create(Inv, $"{p.Key} {p.Value / 1e6:F3}")));
            var what = vm is null ? $"pid {o.NoisyPid} allowed on CPU {r.cpus}" : string.Create(Inv, $"vm '{vm.Name}' runs at {vm.TargetAgent}, downtime {r.downtimeNs / 1e6:F3} ms,");
            Line(w, o.Ms(r.finishedAtNs), $"result   {r.status}: {what} in {(r.finishedAtNs - r.startedAtNs) / 1e6:F3} ms ({phases}){(r.error is null ? "" : " — " + r.error)}");
        }
        if (o.ReceiveResult is var (_, rr))
        {
            var phases = string.Join(", ", rr.phases.Select(p => string.Create(Inv, $"{p.Key} {p.Value / 1e6:F3}")));
            Line(w, o.Ms(rr.finishedAtNs), $"received {rr.status} by {rr.actuator}: guest arrived, runs and beats there, in {(rr.finishedAtNs - rr.startedAtNs) / 1e6:F3} ms ({phases}){(rr.error is null ? "" : " — " + rr.error)}");
        }
        w.WriteLine();
        if (vm is null)
        {
            w.WriteLine($"noisy  pid {o.NoisyPid}: every thread allowed on {o.NoisyCpusAfter} ({(o.NoisyIsolated ? "isolated" : "NOT isolated")})");
            w.WriteLine($"benign pid {o.BenignPid}: every thread allowed on {o.BenignCpusAfter} ({(o.BenignUntouched ? "untouched" : "MOVED")})");
        }
        else
        {
            w.WriteLine($"guest '{vm.Name}': heartbeat {vm.BeatAtSource?.ToString(Inv) ?? "-"} at {vm.SourceAgent}, then {vm.BeatAtResult?.ToString(Inv) ?? "-"} → {vm.BeatAfter?.ToString(Inv) ?? "none"} at {vm.TargetAgent}; source QEMU {(vm.SourceExited ? "exited" : "STILL RUNNING")}");
        }
        if (Summary(o) is { } sum)
        {
            var move = vm is null ? string.Create(Inv, $"core move {sum.MoveMs:F3} ms") : string.Create(Inv, $"vm move {sum.MoveMs:F1} ms, downtime {sum.DowntimeMs:F3} ms");
            w.WriteLine(string.Create(Inv, $"summary: detection {sum.DetectionMs:F1} ms after the {(vm is null ? "storm began" : "pipeline started")}; sample→result {sum.SampleToResultMs:F1} ms; {move}"));
        }
        w.WriteLine(!o.Succeeded ? "FAILED: see above."
            : vm is null ? "OK: the noisy workload runs alone on the isolation pool." : $"OK: the guest keeps beating on {vm.TargetAgent}, a host with no other tenant.");
    }

    public static void WriteJson(DemoOutcome o, Stream stdout)
    {
        var doc = new JsonObject { ["ok"] = o.Succeeded };
        if (o.Vm is { } vm)
        {
            doc["vm"] = new JsonObject
            {
                ["name"] = vm.Name, ["memoryMb"] = vm.MemoryMb, ["qemuPid"] = o.NoisyPid, ["source"] = vm.SourceAgent, ["target"] = vm.TargetAgent,
                ["heartbeatAtSource"] = vm.BeatAtSource, ["heartbeatAtResult"] = vm.BeatAtResult, ["heartbeatAfter"] = vm.BeatAfter,
                ["heartbeatContinues"] = vm.Continues, ["sourceExited"] = vm.SourceExited, ["pipelineStartedAtNs"] = o.GoAtNs,
            };
        }
        else
        {
            doc["pool"] = o.Pool.ToString();
            doc["shared"] = o.Shared.ToString();
            doc["benign"] = new JsonObject { ["pid"] = o.BenignPid, ["cpus"] = o.BenignCpusAfter, ["untouched"] = o.BenignUntouched };
            doc["noisy"] = new JsonObject { ["pid"] = o.NoisyPid, ["cpus"] = o.NoisyCpusAfter, ["isolated"] = o.NoisyIsolated, ["stormStartedAtNs"] = o.GoAtNs };
            // How many samples each process gave and their mean window: early publication must not add benign samples.
            foreach (var (key, pid) in new[] { ("benign", o.BenignPid), ("noisy", o.NoisyPid) })
            {
                var windows = o.Observed.Samples.Where(s => s.Sample.entity.pid == pid).Select(s => s.Sample.intervalNs).ToList();
                doc[key]!["samples"] = windows.Count;
                doc[key]!["meanWindowMs"] = windows.Count == 0 ? null : windows.Average() / 1e6;
            }
        }
        doc["detections"] = new JsonArray([.. o.Observed.Detections.Select(d => Detection(d.Detection, d.AtNs))]);
        doc["commands"] = new JsonArray([.. o.Observed.Commands.Select(c => Command(c.Command))]);
        doc["results"] = new JsonArray([.. o.Observed.Results.Select(r => Result(r.Result))]);
        if (Summary(o) is { } s)
        {
            doc["summary"] = new JsonObject { ["detectionMs"] = s.DetectionMs, ["sampleToResultMs"] = s.SampleToResultMs, ["moveMs"] = s.MoveMs };
            if (s.DowntimeMs is { } downtime)
            {
                doc["summary"]!["downtimeMs"] = downtime;
            }
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

    private static (double DetectionMs, double SampleToResultMs, double MoveMs, double? DowntimeMs)? Summary(DemoOutcome o) =>
        o.NoisyDetection is var (dAt, d) && o.NoisyResult is var (_, r)
            ? (o.Ms(dAt), (r.finishedAtNs - d.detectedAtNs) / 1e6, (r.finishedAtNs - r.startedAtNs) / 1e6, r.downtimeNs / 1e6)
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
        ["downtimeMs"] = r.downtimeNs / 1e6,
        ["bytesTransferred"] = r.bytesTransferred,
        ["vm"] = r.entity.vm,
        ["source"] = r.actuator,
        ["actuator"] = r.actuator,
        ["startedAtNs"] = r.startedAtNs,
        ["finishedAtNs"] = r.finishedAtNs,
    };

    private static JsonObject Command(IsolationCommand c) => new()
    {
        ["commandId"] = c.commandId,
        ["detectionId"] = c.detectionId,
        ["level"] = c.level,
        ["action"] = c.action,
        ["source"] = c.source,
        ["target"] = c.target,
        ["issuedAtNs"] = c.issuedAtNs,
        ["dryRun"] = c.dryRun,
        ["reasons"] = new JsonArray([.. c.reasons.Select(r => (JsonNode?)JsonValue.Create(r))]),
    };

    private static JsonObject Entity(EntityRef e) => new()
    {
        ["datacenter"] = e.datacenter, ["host"] = e.host, ["vm"] = e.vm, ["container"] = e.container, ["pid"] = e.pid, ["comm"] = e.comm,
    };

    private static void Line(TextWriter w, double ms, string text) => w.WriteLine(string.Create(Inv, $"{ms,8:F1}  {text}"));
}
