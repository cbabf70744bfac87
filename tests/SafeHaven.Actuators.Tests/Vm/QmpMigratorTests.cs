using System.Globalization;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Vm;
using Xunit.Abstractions;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>Post-copy figures for docs/PERFORMANCE.md; opt-in (Category=Measure), several minutes of TCG.</summary>
public sealed class QmpMigratorTests(ITestOutputHelper output) : IDisposable
{
    private readonly VmSandbox _box = new();

    [SkippableTheory]
    [Trait("Category", "Measure")]
    [InlineData(512, 3)]
    [InlineData(2048, 3)]
    public async Task Measure_postcopy_total_and_downtime(int memoryMb, int runs)
    {
        Skip.If(GuestImage.Problem is not null, GuestImage.Problem);
        var totals = new List<double>();
        var downtimes = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(240));
            var ct = deadline.Token;
            var name = $"m{memoryMb}-{run}";
            var spec = GuestImage.Spec(name, memoryMb);
            using var src = QemuGuest.Start(spec, _box.A);
            await using var srcQmp = await src.ConnectQmpAsync(null, ct);
            var beat = await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, null, ct);
            Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(src.SerialPath, beat, ct));
            using var dst = QemuGuest.Start(spec, _box.B, incoming: true);
            await using var dstQmp = await dst.ConnectQmpAsync(null, ct);
            var outcome = await QmpMigrator.MigrateAsync(srcQmp, dstQmp, "unix:" + Path.Join(_box.B, name + ".mig"), dst.SerialPath,
                SerialHeartbeat.Last(src.SerialPath), new MigrationOptions(), ct);
            Assert.True(outcome.Succeeded, outcome.Error);
            Assert.Equal("postcopy", outcome.Mode);
            totals.Add(outcome.TotalNs / 1e6);
            downtimes.Add(outcome.DowntimeNs!.Value / 1e6);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{memoryMb} MB run {run}: total {outcome.TotalNs / 1e6:F0} ms, downtime {outcome.DowntimeNs / 1e6:F1} ms, bytes {outcome.BytesTransferred}, phases {string.Join(' ', outcome.PhasesNs.Select(p => $"{p.Key}={p.Value / 1e6:F1}"))}"));
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MEDIAN {memoryMb} MB: total {Median(totals):F0} ms, downtime {Median(downtimes):F1} ms over {runs} runs"));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public void Dispose() => _box.Dispose();
}
