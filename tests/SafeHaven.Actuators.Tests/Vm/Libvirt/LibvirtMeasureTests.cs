using System.Globalization;
using SafeHaven.Actuators.Agent;
using SafeHaven.Actuators.Vm;
using SafeHaven.Actuators.Vm.Libvirt;
using Xunit.Abstractions;

namespace SafeHaven.Actuators.Tests.Vm.Libvirt;

/// <summary>Post-copy through two libvirt daemons, figures for docs/PERFORMANCE.md; opt-in (Category=Measure).</summary>
[Collection("libvirt")]
public sealed class LibvirtMeasureTests(LibvirtDaemons daemons, ITestOutputHelper output)
{
    [SkippableTheory]
    [Trait("Category", "Measure")]
    [InlineData(512, 3)]
    [InlineData(2048, 3)]
    public async Task Measure_libvirt_postcopy_total_and_downtime(int memoryMb, int runs)
    {
        Skip.If(daemons.Problem is not null, daemons.Problem);
        var totals = new List<double>();
        var downtimes = new List<double>();
        var bytes = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(240));
            var ct = deadline.Token;
            var name = $"lvm{memoryMb}-{run}";
            var srcSerial = daemons.Serial(name, "a");
            var dstSerial = daemons.Serial(name, "b");
            try
            {
                await daemons.A.DefineAndStartAsync(GuestImage.Spec(name, memoryMb), srcSerial, ct);
                var beat = await SerialHeartbeat.WaitBeyondAsync(srcSerial, null, ct);
                Assert.NotNull(await SerialHeartbeat.WaitBeyondAsync(srcSerial, beat, ct));
                var outcome = await LibvirtMigrator.MigrateAsync(daemons.A, daemons.B, name, dstSerial, SerialHeartbeat.Last(srcSerial),
                    new MigrationOptions(), daemons.Channel(name), ct);
                Assert.True(outcome.Succeeded, outcome.Error);
                Assert.Equal("postcopy", outcome.Mode);
                totals.Add(outcome.TotalNs / 1e6);
                downtimes.Add(outcome.DowntimeNs!.Value / 1e6);
                bytes.Add(outcome.BytesTransferred / 1e6);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{memoryMb} MB run {run}: total {outcome.TotalNs / 1e6:F0} ms, downtime {outcome.DowntimeNs / 1e6:F1} ms, bytes {outcome.BytesTransferred}, phases {string.Join(' ', outcome.PhasesNs.Select(p => $"{p.Key}={p.Value / 1e6:F1}"))}"));
            }
            finally
            {
                await daemons.A.RemoveAsync(name, CancellationToken.None);
                await daemons.B.RemoveAsync(name, CancellationToken.None);
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MEDIAN {memoryMb} MB via libvirt: total {Median(totals):F0} ms ({totals.Min():F0}-{totals.Max():F0}), downtime {Median(downtimes):F1} ms ({downtimes.Min():F1}-{downtimes.Max():F1}), bytes {Median(bytes):F0} MB over {runs} runs"));
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
