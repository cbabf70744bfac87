using System.Globalization;
using SafeHaven.Schemas;

namespace SafeHaven.Core.Simulation;

/// <summary>What a simulated fleet looks like (<c>safehaven simulate</c>, docs/SCALING.md).</summary>
/// <param name="Hosts">Simulated hosts, 1..1,000,000.</param>
/// <param name="Processes">Benign processes per host, 0..10,000.</param>
/// <param name="Period">Sampling period: each host publishes one batch per period.</param>
/// <param name="Hot">Hot entities (one process each, beside the benign ones), spread evenly over the hosts.</param>
/// <param name="Datacenters">Datacenters the hosts are dealt into, round-robin (dc1, dc2, …).</param>
/// <param name="Counter">The counter every sample carries.</param>
/// <param name="HotRate">A hot entity's rate, events/s.</param>
/// <param name="BenignMedian">Median benign rate, events/s (rates are log-normal around it).</param>
/// <param name="BenignMax">No benign rate exceeds this: keep it below the rules' thresholds.</param>
/// <param name="HostPrefix">Host ids are this prefix and a number.</param>
/// <param name="Pulse">Hot entities storm one tick in four (quiet otherwise), so they fire again and again; else steadily.</param>
public sealed record FleetSpec(int Hosts, int Processes, TimeSpan Period, int Hot = 0, int Datacenters = 1,
    string Counter = "context-switches", double HotRate = 50_000, double BenignMedian = 100, double BenignMax = 1_500,
    string HostPrefix = "sim-", bool Pulse = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting (by its flag).</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }
        Require(Hosts is >= 1 and <= 1_000_000, $"--hosts must be 1..1000000, got {Hosts}");
        Require(Processes is >= 0 and <= 10_000, $"--processes must be 0..10000, got {Processes}");
        Require(Period >= TimeSpan.FromMilliseconds(10) && Period <= TimeSpan.FromHours(1), $"--period must be 10ms..1h, got {Period}");
        Require(Hot >= 0 && Hot <= Hosts * 100L, $"--hot must be 0..{Hosts * 100L} (100 per host), got {Hot}");
        Require(Processes + (Hot + Hosts - 1) / Hosts > 0, "--processes 0 with no --hot: the hosts would publish nothing");
        Require(Datacenters is >= 1 and <= 64 && Datacenters <= Hosts, $"--datacenters must be 1..64 and at most --hosts, got {Datacenters}");
        Require(Identifiers.IsToken(HostPrefix + "0"), $"--host-prefix '{Identifiers.Printable(HostPrefix)}' does not make valid host ids");
        Require(Counters.IsValid(Counter, out _), $"--counter '{Identifiers.Printable(Counter)}' is not a known counter");
        Require(BenignMedian > 0 && BenignMax >= BenignMedian && HotRate > BenignMax, "rates: need 0 < benign median <= benign max < hot rate");
    }
}

/// <summary>
/// A simulated fleet: one <see cref="SampleBatch"/> per host per tick, as a probe would publish it, with benign
/// processes at log-normal rates (fixed per process, ±10 % noise per tick) and hot entities far above them.
/// Deterministic for a seed; the caller supplies every timestamp (no clock here).
/// </summary>
public sealed class FleetModel
{
    private readonly FleetSpec _spec;
    private readonly double[] _benignRates;
    private readonly int[][] _hotByHost;
    private readonly long[] _seq;
    private readonly Random _noise;
    private readonly string[] _hosts;
    private readonly string[] _datacenters;

    /// <summary>A fleet of <paramref name="spec"/>; <paramref name="seed"/> fixes every rate.</summary>
    public FleetModel(FleetSpec spec, int seed = 13)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        _spec = spec;
        var random = new Random(seed);
        // Log-normal with σ = 1: most processes quiet, a long tail of busy ones (as on real hosts), capped below ε.
        _benignRates = [.. Enumerable.Range(0, Math.Max(1, spec.Processes)).Select(_ =>
            Math.Min(spec.BenignMax, spec.BenignMedian * Math.Exp(Gaussian(random) * 1.0)))];
        _hotByHost = new int[spec.Hosts][];
        var perHost = Enumerable.Range(0, spec.Hosts).Select(_ => new List<int>()).ToArray();
        for (var h = 0; h < spec.Hot; h++)
        {
            perHost[(int)((long)h * spec.Hosts / Math.Max(1, spec.Hot))].Add(h);
        }
        for (var i = 0; i < spec.Hosts; i++)
        {
            _hotByHost[i] = [.. perHost[i]];
        }
        _seq = new long[spec.Hosts];
        _noise = new Random(seed + 1);
        var width = (spec.Hosts - 1).ToString(CultureInfo.InvariantCulture).Length;
        _hosts = [.. Enumerable.Range(0, spec.Hosts).Select(i => spec.HostPrefix + i.ToString("D" + width, CultureInfo.InvariantCulture))];
        _datacenters = [.. Enumerable.Range(0, spec.Hosts).Select(i => "dc" + (i % spec.Datacenters + 1).ToString(CultureInfo.InvariantCulture))];
    }

    /// <summary>The fleet's settings.</summary>
    public FleetSpec Spec => _spec;

    /// <summary>Host id of host <paramref name="index"/>.</summary>
    public string HostId(int index) => _hosts[index];

    /// <summary>Datacenter of host <paramref name="index"/>.</summary>
    public string DatacenterOf(int index) => _datacenters[index];

    /// <summary>Pid of hot entity <paramref name="hot"/> (benign processes have pids 1000 and up, hot ones 500000 and up).</summary>
    public static int HotPid(int hot) => 500_000 + hot;

    /// <summary>Hot entities on host <paramref name="index"/>.</summary>
    public IReadOnlyList<int> HotOn(int index) => _hotByHost[index];

    /// <summary>True when hot entity <paramref name="hot"/> storms during <paramref name="tick"/>.</summary>
    public bool IsStorming(int hot, long tick) => !_spec.Pulse || (tick + hot) % 4 == 0;

    /// <summary>Host <paramref name="index"/>'s batch of tick <paramref name="tick"/>, whose windows end at <paramref name="endNs"/> (Unix ns).</summary>
    public SampleBatch Batch(int index, long tick, long endNs)
    {
        var periodNs = _spec.Period.Ticks * 100;
        var hot = _hotByHost[index];
        var entries = new List<SampleEntry>(_spec.Processes + hot.Length);
        for (var p = 0; p < _spec.Processes; p++)
        {
            var rate = _benignRates[(p * 7919 + index) % _benignRates.Length] * (0.9 + 0.2 * _noise.NextDouble());
            entries.Add(Entry(1000 + p, "svc" + (p % 64).ToString(CultureInfo.InvariantCulture), Math.Min(rate, _spec.BenignMax), periodNs));
        }
        foreach (var h in hot)
        {
            var rate = IsStorming(h, tick) ? _spec.HotRate * (0.9 + 0.2 * _noise.NextDouble()) : _spec.BenignMedian;
            entries.Add(Entry(HotPid(h), "hot", rate, periodNs));
        }
        var batch = new SampleBatch
        {
            host = _hosts[index], datacenter = _datacenters[index], timestampNs = endNs, firstSeq = _seq[index],
            droppedSamples = 0, counters = [_spec.Counter], samples = entries,
        };
        _seq[index] += entries.Count;
        return batch;
    }

    private static SampleEntry Entry(int pid, string comm, double rate, long periodNs) => new()
    {
        pid = pid, startTime = pid, comm = comm, endOffsetNs = 0, intervalNs = periodNs,
        values = [(long)(rate * periodNs / 1e9)],
    };

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
