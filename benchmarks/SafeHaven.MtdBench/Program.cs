using System.Globalization;
using System.Text.Json;
using SafeHaven.Actuators.Container;
using SafeHaven.Core;
using SafeHaven.MtdBench;

// Moving-target cost: throughput of a CPU+memory workload moved every period, relative to unmoved runs
// bracketing them (U M M M U) so that drift in the shared machine's load cancels.
// Usage: mtdbench vm|core|container [--periods 30,10,60] [--duration 180] [--warmup 15] [--pairs 1]
//        [--guest-cache /var/cache/safehaven-test-guest] [--memory 256] [--pool 0-1] [--criu /opt/safehaven/criu/criu]
var argv = args.ToList();
string Opt(string name, string fallback)
{
    var i = argv.IndexOf(name);
    return i >= 0 && i + 1 < argv.Count ? argv[i + 1] : fallback;
}
var level = argv.Count > 0 ? argv[0] : "";
var periods = Opt("--periods", "30").Split(',').Select(p => TimeSpan.FromSeconds(double.Parse(p, CultureInfo.InvariantCulture))).ToList();
var spec = new RunSpec(TimeSpan.FromSeconds(double.Parse(Opt("--warmup", "15"), CultureInfo.InvariantCulture)),
    TimeSpan.FromSeconds(double.Parse(Opt("--duration", "180"), CultureInfo.InvariantCulture)),
    Path.Join(Path.GetTempPath(), "safehaven-mtdbench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
var pairs = int.Parse(Opt("--pairs", "1"), CultureInfo.InvariantCulture);
Directory.CreateDirectory(spec.WorkDir);

IWorkload workload;
switch (level)
{
    case "core":
        workload = new CoreWorkload(WorkloadBuild.Compile(spec.WorkDir), CpuList.Parse(Opt("--pool", "0-1")));
        break;
    case "vm":
        var cache = Opt("--guest-cache", "/var/cache/safehaven-test-guest");
        if (!File.Exists(Path.Join(cache, "vmlinuz")))
        {
            Console.Error.WriteLine($"mtdbench: no test guest in {cache}: run tests/vm/build-guest.sh {cache}");
            return 2;
        }
        var initrd = WorkloadBuild.Initrd(Path.Join(cache, "initrd.gz"), WorkloadBuild.Compile(spec.WorkDir), spec.WorkDir);
        workload = new VmWorkload(Path.Join(cache, "vmlinuz"), initrd, int.Parse(Opt("--memory", "256"), CultureInfo.InvariantCulture));
        break;
    case "container":
        // The container level moves with CRIU 4.1 checkpoint/restore (docs/MACHINE.md); without it there is nothing to measure.
        var criu = new CriuOptions { Binary = Opt("--criu", CriuOptions.DefaultBinary), PortMin = 27600, PortMax = 27614 };
        var capability = await CriuCapability.ProbeAsync(criu);
        if (!capability.Available)
        {
            Console.WriteLine($"SKIP container level: {capability.Reason}");
            return 0;
        }
        workload = new ContainerWorkload(WorkloadBuild.Compile(spec.WorkDir), criu);
        break;
    default:
        Console.Error.WriteLine("usage: mtdbench vm|core|container [--periods 30,10,60] [--duration 180] [--warmup 15] [--pairs 1]");
        return 2;
}

// Unmoved runs bracket the moved ones (U M10 M30 M60 U, then the periods reversed and U again for a second pair),
// so drift in the shared machine's load reaches both kinds of run alike.
var sequence = new List<TimeSpan?> { null };
for (var pair = 0; pair < pairs; pair++)
{
    sequence.AddRange((pair % 2 == 0 ? periods : Enumerable.Reverse(periods)).Select(p => (TimeSpan?)p));
    sequence.Add(null);
}
var results = new List<RunResult>();
foreach (var period in sequence)
{
    var r = await workload.RunAsync(spec, period, CancellationToken.None);
    results.Add(r);
    Console.WriteLine(JsonSerializer.Serialize(r));
    Console.Out.Flush();
}

static double Median(IEnumerable<double> values)
{
    var s = values.Order().ToList();
    return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
}
var unmoved = results.Where(r => !r.Moved).ToList();
Console.WriteLine($"| level | period | unmoved ops/s (median of {unmoved.Count}) | moved ops/s (median) | relative | relative, local | moves | failures | move ms (median) | downtime ms (median) | load 1-min (min–max) |");
foreach (var period in periods)
{
    var moved = results.Where(r => r.Moved && r.PeriodS == period.TotalSeconds).ToList();
    var u = Median(unmoved.Select(r => r.OpsPerSec));
    var m = Median(moved.Select(r => r.OpsPerSec));
    var loads = results.SelectMany(r => new[] { r.LoadStart, r.LoadEnd }).ToList();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {level} | {period.TotalSeconds}s | {u:F0} | {m:F0} | {m / u:F3} | {Median(moved.Select(r => r.LocalRelative)):F3} | {moved.Sum(r => r.Moves)} | {moved.Sum(r => r.Failures)} | {Median(moved.SelectMany(r => r.MoveMs)):F1} | {Median(moved.SelectMany(r => r.DowntimeMs)):F1} | {loads.Min():F2}–{loads.Max():F2} |"));
}
Directory.Delete(spec.WorkDir, recursive: true);
return 0;
