using System.Globalization;
using SafeHaven.Actuators.Container;
using Xunit.Abstractions;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>Container move figures for docs/PERFORMANCE.md; opt-in (Category=Measure).</summary>
public sealed class ContainerMeasureTests(ITestOutputHelper output) : IDisposable
{
    private const int Ports = 27375;
    private readonly ContainerSandbox _box = new();

    [SkippableTheory]
    [Trait("Category", "Measure")]
    [InlineData(CriuPageMode.PageServer, 192, 3)]
    [InlineData(CriuPageMode.LazyPages, 192, 3)]
    public async Task Measure_container_move(CriuPageMode mode, int memoryMb, int runs)
    {
        var problem = mode == CriuPageMode.LazyPages ? CriuHost.LazyProblem : CriuHost.Problem;
        Skip.If(problem is not null, problem);
        var options = CriuHost.Options(Ports, mode);
        var hb = _box.File("m.hb");
        await NamespacedContainer.StartAsync(_box.A, CriuHost.Spec("m", hb, memoryMb), options);
        await WaitForMemoryAsync(_box.A.Load("m")!.InitPid, memoryMb);
        var figures = new Dictionary<string, List<double>>();
        var (from, to) = (_box.A, _box.B);
        for (var run = 0; run < runs; run++)
        {
            await CriuHost.BeatsAsync(hb, null);
            var moved = await ContainerMigrator.MigrateAsync(from, to, "m", options);
            Assert.True(moved.Succeeded, moved.Error);
            var row = moved.PhasesNs.ToDictionary(p => p.Key, p => p.Value / 1e6);
            row["total"] = moved.TotalNs / 1e6;
            row["downtime"] = moved.DowntimeNs!.Value / 1e6;
            foreach (var (k, v) in row)
            {
                (figures.TryGetValue(k, out var list) ? list : figures[k] = []).Add(v);
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode} {memoryMb} MB run {run}: {string.Join(' ', row.Select(p => $"{p.Key}={p.Value:F0}"))} ms, pages {moved.PageBytes >> 20} MiB, metadata {moved.MetadataBytes >> 10} KiB"));
            (from, to) = (to, from);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MEDIAN {mode} {memoryMb} MB over {runs} runs: {string.Join(' ', figures.Select(f => $"{f.Key}={Median(f.Value):F0}"))} ms"));
    }

    // The python3 child reports its memory touched once its RSS holds it.
    private static async Task WaitForMemoryAsync(int init, int memoryMb)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (ProcessTree.Of(init).Sum(RssMb) < memoryMb)
        {
            await Task.Delay(20, deadline.Token);
        }
    }

    private static long RssMb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) >> 10;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public void Dispose() => _box.Dispose();
}
