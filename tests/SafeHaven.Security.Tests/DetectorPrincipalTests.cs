using NSec.Cryptography;

namespace SafeHaven.Security.Tests;

/// <summary>
/// The detector-only principal of the secured profile (deploy/keys.sh, deploy/secured/setup.sh): its key seals
/// detections and nothing else, and a command signed with it is refused by an agent, even one whose trusted
/// directory holds the detector's public key beside the planner's (deploy/keys/detector holds every .pub file).
/// </summary>
public sealed class DetectorPrincipalTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-detector-");

    [Fact]
    public void A_command_signed_with_the_detector_key_is_refused()
    {
        // As keys.sh lays them out: the planner and detector keys side by side, every .pub trusted.
        var planner = SigningKeys.Generate(_dir.FullName);
        var detector = SigningKeys.Generate(_dir.FullName, KeyRoles.Detector, "detector");
        var agent = SigningKeys.LoadVerifier(_dir.FullName);
        Assert.Equal([planner], agent.KeyIds);

        // The detector key is no command key: the CLI refuses to load it as one.
        var detectorKey = Path.Join(_dir.FullName, detector + ".key");
        var refused = Assert.Throws<KeyFileException>(() => SigningKeys.LoadSigner(detectorKey));
        Assert.Contains("a detector key, not a planner key", refused.Message, StringComparison.Ordinal);

        // A compromised detector signs a command with its key anyway: the agent refuses it, naming the key.
        var raw = SigningKeys.ReadKey(detectorKey, SigningKeys.PrivateHeader, 32);
        using var stolen = new CommandSigner(Key.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPrivateKey), detector);
        var forged = Commands.New();
        stolen.Sign(forged);
        Assert.Equal(detector, forged.keyId);
        Assert.Equal($"command signed by untrusted key '{detector}'", agent.Problem(forged));

        // Relabelled as the planner's key id, the signature does not verify under the planner's key.
        forged.keyId = planner;
        Assert.StartsWith("bad signature", agent.Problem(forged), StringComparison.Ordinal);
    }

    [Fact]
    public void The_detector_key_seals_detections_and_no_command_ledger_lease_or_result()
    {
        using var detector = SigningKeys.LoadRecordSigner(Path.Join(_dir.FullName, SigningKeys.Generate(_dir.FullName, KeyRoles.Detector, "detector") + ".key"),
            KeyRoles.Detector);
        var trusting = RecordVerifier.Trusting(detector);
        byte[] key = [1], value = [2];
        Assert.Null(trusting.Verify("detections", key, value, detector.Identity.KeyId, detector.Sign("detections", key, value)).Problem);
        foreach (var kind in new[] { "commands", "placements", "results", "action-leases", "reservations", "inventory" })
        {
            Assert.Throws<InvalidOperationException>(() => detector.Sign(kind, key, value));
            // A seal made for detections and moved onto another kind of record fails too.
            Assert.NotNull(trusting.Verify(kind, key, value, detector.Identity.KeyId, detector.Sign("detections", key, value)).Problem);
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
