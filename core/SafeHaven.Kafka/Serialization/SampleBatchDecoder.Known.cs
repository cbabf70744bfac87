using System.Runtime.CompilerServices;
using System.Text;
using SafeHaven.Core;
using SafeHaven.Core.Detector;

namespace SafeHaven.Kafka.Serialization;

// What the decoder remembers between batches: hosts by the bytes of their (host, datacenter) strings, each with its
// counter names and its processes by pid. Batch after batch the same bytes come back, so a lookup replaces decoding.
public sealed partial class SampleBatchDecoder
{
    // Bounds memory when processes come and go: forgetting only costs decoding them again.
    private const int MaxKnownEntities = 500_000;
    private const int MaxKnownHosts = 100_000;
    // Positions remembered per host: a host's batch longer than this finds its later entities by pid alone.
    private const int MaxPositions = 8_192;

    private readonly Dictionary<byte[], DecodedHost> _hosts = new(Utf8KeyComparer.Instance);
    private int _knownEntities;

    // The host of a batch from the raw bytes of its host and datacenter fields.
    private DecodedHost Hosts(ReadOnlySpan<byte> key)
    {
        // Consecutive batches of a partition often come from the same host.
        if (key.SequenceEqual(_host.Key))
        {
            return _host;
        }
        var lookup = _hosts.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.TryGetValue(key, out var known))
        {
            return known;
        }
        if (_hosts.Count >= MaxKnownHosts)
        {
            Forget();
        }
        var host = new DecodedHost(key);
        _hosts[host.Key] = host;
        return host;
    }

    // A host's tick lists its processes in the same order tick after tick: the entity at the same position of its last
    // batch is checked first, then the host's map by pid.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private KnownEntity? Known(DecodedHost host, int pid, int position)
    {
        var byPosition = host.ByPosition;
        if ((uint)position < (uint)byPosition.Length && byPosition[position] is { } same && same.Pid == pid)
        {
            return same;
        }
        if (host.Entities.TryGetValue(pid, out var known))
        {
            host.Remember(position, known);
            return known;
        }
        string id;
        try
        {
            id = EntityIds.Within(host.HostId, pid, null, null);
        }
        catch (ArgumentException)
        {
            return null; // invalid pid: decoded without the cache, and the validator names it
        }
        if (++_knownEntities > MaxKnownEntities)
        {
            Forget();
            _knownEntities = 1;
        }
        host.Entities[pid] = known = new KnownEntity(pid, new EntityKeys(id));
        host.Remember(position, known);
        return known;
    }

    private void Forget()
    {
        foreach (var host in _hosts.Values)
        {
            host.Entities.Clear();
            host.ForgetPositions();
        }
        _hosts.Clear();
        _knownEntities = 0;
    }

    private sealed class DecodedHost
    {
        private byte[] _countersUtf8 = [];
        private CounterSet _counters = CounterSet.Empty;

        public static DecodedHost None { get; } = new();

        private DecodedHost()
        {
            (Key, Host, Datacenter, HostId) = ([], "", "", "");
        }

        public DecodedHost(ReadOnlySpan<byte> key)
        {
            Key = key.ToArray();
            var r = new AvroSpanReader(key);
            (Host, Datacenter) = (r.ReadString(), r.ReadString());
            try
            {
                HostId = EntityIds.OfHost(Datacenter, Host);
            }
            catch (ArgumentException e)
            {
                (HostId, Problem) = ("", $"unknown host: {e.Message}");
            }
        }

        public byte[] Key { get; }

        public string Host { get; }

        public string Datacenter { get; }

        public string HostId { get; }

        public string? Problem { get; }

        public Dictionary<int, KnownEntity> Entities { get; } = [];

        // The entity seen last at each position of this host's batches (see Known).
        public KnownEntity?[] ByPosition { get; private set; } = [];

        public void Remember(int position, KnownEntity entity)
        {
            // Bounded by the host's entities too, so a hostile batch of pid-less entries cannot size the array.
            if (position >= MaxPositions || position > (2 * Entities.Count) + 16)
            {
                return;
            }
            if (position >= ByPosition.Length)
            {
                var grown = new KnownEntity?[Math.Min(MaxPositions, Math.Max(position + 1, ByPosition.Length * 2))];
                ByPosition.CopyTo(grown, 0);
                ByPosition = grown;
            }
            ByPosition[position] = entity;
        }

        public void ForgetPositions() => ByPosition = [];

        // The counter names from the raw bytes of the counters array: the same bytes give the same set.
        public CounterSet Counters(ReadOnlySpan<byte> utf8)
        {
            if (utf8.SequenceEqual(_countersUtf8))
            {
                return _counters;
            }
            var names = new List<string>(_counters.Count);
            var r = new AvroSpanReader(utf8);
            for (var n = r.ReadBlockCount(1); n != 0; n = r.ReadBlockCount(1))
            {
                for (var i = 0; i < n; i++)
                {
                    names.Add(r.ReadString());
                }
            }
            if (!_counters.SameNames(names))
            {
                _counters = new CounterSet([.. names]);
            }
            _countersUtf8 = utf8.ToArray();
            return _counters;
        }
    }

    private sealed class KnownEntity(int pid, EntityKeys keys)
    {
        public int Pid { get; } = pid;

        // Fields, not properties: the memos update in place.
        public Utf8Memo Comm;
        public Utf8Memo Container;
        public Utf8Memo Vm;

        public EntityKeys Keys { get; } = keys;
    }

    // The last string decoded from a field, returned again while the field's bytes stay the same.
    private struct Utf8Memo
    {
        private byte[]? _utf8;
        private string? _text;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public string Get(ReadOnlySpan<byte> utf8)
        {
            if (_text is not null && utf8.SequenceEqual(_utf8))
            {
                return _text;
            }
            _utf8 = utf8.ToArray();
            return _text = Encoding.UTF8.GetString(utf8);
        }
    }

    private sealed class Utf8KeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static Utf8KeyComparer Instance { get; } = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var h = new HashCode();
            h.AddBytes(alternate);
            return h.ToHashCode();
        }

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
