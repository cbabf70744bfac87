using System.Text;
using Confluent.Kafka;
using SafeHaven.Kafka.Serialization;
using SafeHaven.Security;

namespace SafeHaven.Kafka.Clients;

/// <summary>Record seals (docs/SECURITY.md) as Kafka headers: written by producers, checked by consumers.</summary>
public static class Seals
{
    /// <summary>Record kinds: the topic's role, independent of the deployment's prefix.</summary>
    public static class Kinds
    {
        /// <summary>Probe samples.</summary>
        public const string Samples = "samples";

        /// <summary>Inventory of probes and actuators.</summary>
        public const string Inventory = "inventory";

        /// <summary>Detector output.</summary>
        public const string Detections = "detections";

        /// <summary>Actuator results.</summary>
        public const string Results = "results";

        /// <summary>Planner commands.</summary>
        public const string Commands = "commands";

        /// <summary>Planner ledger.</summary>
        public const string Placements = "placements";

        /// <summary>Cross-datacenter action leases (planners of any trusted datacenter).</summary>
        public const string ActionLeases = "action-leases";

        /// <summary>Cross-datacenter slot reservations: requests and answers (planners).</summary>
        public const string Reservations = "reservations";
    }

    /// <summary>The two headers that seal a record of <paramref name="kind"/>.</summary>
    public static Headers Headers(RecordSigner signer, string kind, string? key, byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var signature = signer.Sign(kind, KeyBytes(key), value ?? []);
        var headers = new Headers
        {
            { RecordSeal.KeyHeader, Encoding.ASCII.GetBytes(signer.Identity.KeyId) },
            { RecordSeal.SignatureHeader, signature },
        };
        if (signer.IsHostMac)
        {
            // The detector derives the host's MAC key from the subject: a wrong one yields a wrong key.
            headers.Add(SampleMacKeys.SubjectHeader, Encoding.UTF8.GetBytes(signer.Identity.Subject));
        }
        return headers;
    }

    /// <summary>
    /// The identity that sealed <paramref name="message"/>; throws <see cref="RecordRejectedException"/> (dead-lettered
    /// by every consume loop) when it is unsealed, sealed by an untrusted key or a role that may not write the kind, or altered.
    /// </summary>
    public static KeyIdentity Require(RecordVerifier verifier, string kind, Message<string, byte[]> message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return Require(verifier, kind, KeyBytes(message.Key), message.Value, message.Headers);
    }

    /// <summary>As <see cref="Require(RecordVerifier, string, Message{string, byte[]})"/>, for a record seen as raw key bytes (a Streamiz record).</summary>
    public static KeyIdentity Require(RecordVerifier verifier, string kind, byte[]? key, byte[]? value, Headers? headers)
    {
        ArgumentNullException.ThrowIfNull(verifier);
        string? keyId = null, subject = null;
        byte[]? signature = null;
        if (headers is not null)
        {
            // The last header of a name counts, as in Kafka's own lookups; a bounded read keeps a hostile header cheap.
            if (headers.TryGetLastBytes(RecordSeal.KeyHeader, out var k) && k.Length <= 64)
            {
                keyId = Encoding.ASCII.GetString(k);
            }
            if (headers.TryGetLastBytes(RecordSeal.SignatureHeader, out var sig))
            {
                signature = sig;
            }
            if (headers.TryGetLastBytes(SampleMacKeys.SubjectHeader, out var s) && s.Length <= 256)
            {
                subject = Encoding.UTF8.GetString(s);
            }
        }
        var (who, problem) = verifier.Verify(kind, key ?? [], value ?? [], keyId, signature ?? [], subject);
        return who ?? throw new RecordRejectedException(problem!);
    }

    private static byte[] KeyBytes(string? key) => key is null ? [] : Encoding.UTF8.GetBytes(key);
}
