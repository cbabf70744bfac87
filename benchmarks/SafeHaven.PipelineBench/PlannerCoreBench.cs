using System.Diagnostics;
using System.Globalization;
using SafeHaven.Core.Placement;
using SafeHaven.Schemas;
using SafeHaven.Security;
using SafeHaven.StreamProcessors.Planning;

namespace SafeHaven.PipelineBench;

/// <summary>
/// The decision alone: SafeHaven.Core's <see cref="Planner"/> in-process, fed the same inventory (through
/// <see cref="InventoryView"/>, as the service does) and the same detections as the Kafka run, without Kafka,
/// codecs, seals or the ledger's acknowledgements. Then the Ed25519 signature each command gets.
/// </summary>
internal static class PlannerCoreBench
{
    public static void Run(PlannerPlan plan)
    {
        using var fleet = new PlannerFleet(plan.Hosts, plan.Pool);
        var book = new PlacementBook("bench");
        var t = Stopwatch.GetTimestamp();
        for (var h = 0; h < plan.Hosts; h++)
        {
            book.Upsert(InventoryView.Actuator(fleet.Actuator(h))!);
            Tenant(book, PlannerFleet.Process(h, PlannerInventory.WarmPid));
        }
        for (var j = 0; j < plan.Detections; j++)
        {
            Tenant(book, PlannerFleet.Process(j % plan.Hosts, PlannerInventory.MeasuredPid(j, plan.Hosts)));
        }
        var inventoryMs = Bench.Ms(Stopwatch.GetTimestamp() - t);
        var options = plan.Options();
        var planner = new Planner(book, TimeProvider.System, new PlannerSettings(options.CommandTtl, options.DryRun, options.ExpiryGrace, options.Policy()));
        foreach (var h in Enumerable.Range(0, Math.Min(plan.WarmUp, plan.Hosts)))
        {
            planner.Plan(PlannerFleet.DetectionOf(h, PlannerInventory.WarmPid, $"w-{h}"));
        }
        var detections = Enumerable.Range(0, plan.Detections)
            .Select(j => PlannerFleet.DetectionOf(j % plan.Hosts, PlannerInventory.MeasuredPid(j, plan.Hosts), "m-" + j.ToString(CultureInfo.InvariantCulture)))
            .ToList();
        var commands = new List<IsolationCommand>(plan.Detections);
        var marks = new long[11];
        var skipped = 0;
        var next = 1;
        var alloc0 = GC.GetAllocatedBytesForCurrentThread();
        marks[0] = Stopwatch.GetTimestamp();
        for (var i = 0; i < detections.Count; i++)
        {
            var d = planner.Plan(detections[i]);
            if (d.Command is { } c)
            {
                commands.Add(c);
            }
            skipped += d.Skipped is null ? 0 : 1;
            // marks[k]: when the first k tenths of the detections were decided.
            while (next <= 10 && i + 1 >= (long)detections.Count * next / 10)
            {
                marks[next++] = Stopwatch.GetTimestamp();
            }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - alloc0;
        var seconds = Bench.Ms(marks[10] - marks[0]) / 1000;
        double Rate(int from, int to) => ((long)detections.Count * to / 10 - (long)detections.Count * from / 10) / (Bench.Ms(marks[to] - marks[from]) / 1000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"planner (in-process, Planner.Plan, {plan.Hosts} hosts, inventory applied in {inventoryMs:F0} ms): {detections.Count} decisions -> {commands.Count} commands + {skipped} skipped " +
            $"in {seconds:F3} s = {detections.Count / seconds:F0} decisions/s (first tenth {Rate(0, 1):F0}/s, last tenth {Rate(9, 10):F0}/s); " +
            $"{allocated / (double)detections.Count:F0} B allocated per decision"));
        Console.WriteLine($"RESULT planner-core decisions/s = {detections.Count / seconds:F0}");

        using var signer = CommandSigner.Ephemeral(out var verifier);
        t = Stopwatch.GetTimestamp();
        foreach (var c in commands)
        {
            signer.Sign(c);
        }
        var signUs = Bench.Ms(Stopwatch.GetTimestamp() - t) * 1000 / Math.Max(1, commands.Count);
        t = Stopwatch.GetTimestamp();
        var bad = commands.Count(c => verifier.Problem(c) is not null);
        var verifyUs = Bench.Ms(Stopwatch.GetTimestamp() - t) * 1000 / Math.Max(1, commands.Count);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"command signature (CommandSigner.Sign): {signUs:F1} µs per command; verify (CommandVerifier.Problem): {verifyUs:F1} µs ({bad} bad)"));
    }

    private static void Tenant(PlacementBook book, EntityState process) => InventoryView.Tenancy(process.entityId, process, book.Tenants);
}
