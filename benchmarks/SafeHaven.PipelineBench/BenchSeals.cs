using System.Security.Cryptography;
using Confluent.Kafka;
using SafeHaven.Kafka.Clients;
using SafeHaven.Security;

namespace SafeHaven.PipelineBench;

/// <summary>Each bench host's sample sealer, and the detector's keys that check them.</summary>
internal sealed class BenchSeals
{
    private readonly Dictionary<string, RecordSigner> _hosts;

    private BenchSeals(Dictionary<string, RecordSigner> hosts, RoleSeals detector) => (_hosts, Detector) = (hosts, detector);

    /// <summary>The detector's side: what it trusts (nothing for <c>none</c>).</summary>
    public RoleSeals Detector { get; }

    /// <summary>Sealers for <paramref name="hosts"/> (of datacenter dc1) by <paramref name="kind"/>: none, mac or ed25519.</summary>
    public static BenchSeals For(string kind, IEnumerable<string> hosts)
    {
        switch (kind)
        {
            case "none":
                return new BenchSeals([], RoleSeals.None);
            case "mac":
                var master = RandomNumberGenerator.GetBytes(32);
                var id = SampleMacKeys.KeyId(master);
                var macs = hosts.ToDictionary(h => h, h => RecordSigner.HostMac(SampleMacKeys.Derive(master, "dc1/" + h), new KeyIdentity(id, KeyRoles.Probe, "dc1/" + h)));
                return new BenchSeals(macs, new RoleSeals { Verifier = RecordVerifier.Trusting(new Dictionary<string, byte[]> { [id] = master }) });
            case "ed25519":
                var keys = hosts.ToDictionary(h => h, h => RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/" + h));
                return new BenchSeals(keys, new RoleSeals { Verifier = RecordVerifier.Trusting([.. keys.Values]) });
            default:
                throw new ArgumentException($"--seal {kind}: expected none, mac or ed25519");
        }
    }

    /// <summary>The seal headers of one record of <paramref name="host"/>, or null unsealed.</summary>
    public Headers? Headers(string host, byte[] value) =>
        _hosts.TryGetValue(host, out var signer) ? Seals.Headers(signer, Seals.Kinds.Samples, host, value) : null;
}
