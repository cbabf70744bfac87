using SafeHaven.Schemas;

namespace SafeHaven.StreamProcessors.Tests;

/// <summary>Builds samples for tests: one second windows, counts given per counter.</summary>
internal static class Samples
{
    public const long Second = 1_000_000_000;

    public static EntityRef Process(int pid, string host = "h1") =>
        new() { datacenter = "dc1", host = host, pid = pid, comm = "p" + pid };

    public static CounterSample Of(int pid, long seq, string counter, long count, long intervalNs = Second, string host = "h1") => new()
    {
        host = host,
        entity = Process(pid, host),
        values = new Dictionary<string, long> { [counter] = count },
        intervalNs = intervalNs,
        timestampNs = 1_700_000_000 * Second + seq * intervalNs,
        seq = seq,
    };
}
