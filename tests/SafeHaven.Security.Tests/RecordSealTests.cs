using System.Text;
using NSec.Cryptography;

namespace SafeHaven.Security.Tests;

public sealed class RecordSealTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-seal-");

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void A_seal_verifies_only_for_the_same_kind_key_and_value_and_a_trusted_key()
    {
        using var probe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h1");
        using var stranger = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h1");
        var verifier = RecordVerifier.Trusting(probe);
        var sig = probe.Sign("inventory", B("dc1/h1/pid/7"), B("state"));

        Assert.Equal((probe.Identity, (string?)null), verifier.Verify("inventory", B("dc1/h1/pid/7"), B("state"), probe.Identity.KeyId, sig));
        Assert.StartsWith("bad seal", verifier.Verify("inventory", B("dc1/h1/pid/7"), B("statf"), probe.Identity.KeyId, sig).Problem);
        Assert.StartsWith("bad seal", verifier.Verify("inventory", B("dc1/h1/pid/8"), B("state"), probe.Identity.KeyId, sig).Problem);
        Assert.StartsWith("bad seal", verifier.Verify("samples", B("dc1/h1/pid/7"), B("state"), probe.Identity.KeyId, sig).Problem);
        Assert.Equal("unsigned inventory record", verifier.Verify("inventory", B("k"), B("v"), null, []).Problem);
        var forged = stranger.Sign("inventory", B("dc1/h1/pid/7"), B("state"));
        Assert.Contains("untrusted key", verifier.Verify("inventory", B("dc1/h1/pid/7"), B("state"), stranger.Identity.KeyId, forged).Problem);
        // Length prefixes: moving bytes between key and value breaks the seal.
        Assert.NotNull(verifier.Verify("inventory", B("dc1/h1/pid/7s"), B("tate"), probe.Identity.KeyId, sig).Problem);
    }

    [Fact]
    public void A_role_seals_only_its_own_kinds_and_a_verifier_refuses_a_kind_the_role_may_not_write()
    {
        using var probe = RecordSigner.Ephemeral(KeyRoles.Probe, "dc1/h1");
        Assert.Throws<InvalidOperationException>(() => probe.Sign("results", B("c-1"), B("succeeded")));

        // A probe key file used by hand to seal a result: the verifier knows the key, but not for results.
        var id = SigningKeys.Generate(_dir.FullName, KeyRoles.Probe, "dc1/h1");
        var raw = Convert.FromBase64String(File.ReadAllLines(Path.Combine(_dir.FullName, id + ".key"))[1]);
        using var key = Key.Import(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPrivateKey);
        var sig = SignatureAlgorithm.Ed25519.Sign(key, RecordSeal.Payload("results", B("c-1"), B("succeeded")));
        var verifier = SigningKeys.LoadRecordVerifier(_dir.FullName);
        Assert.Equal($"results record sealed by probe key {id}, which may not write results", verifier.Verify("results", B("c-1"), B("succeeded"), id, sig).Problem);
    }

    [Fact]
    public void Role_keys_in_the_planners_directory_never_sign_or_verify_commands()
    {
        var planner = SigningKeys.Generate(_dir.FullName);
        var probe = SigningKeys.Generate(_dir.FullName, KeyRoles.Probe, "dc1/h1");
        var actuator = SigningKeys.Generate(_dir.FullName, KeyRoles.Actuator, "agent-1");

        Assert.Equal([planner], SigningKeys.LoadVerifier(_dir.FullName).KeyIds);
        Assert.Contains("a probe key, not a planner key", Assert.Throws<KeyFileException>(() => SigningKeys.LoadSigner(Path.Combine(_dir.FullName, probe + ".key"))).Message);
        using var sealer = SigningKeys.LoadRecordSigner(_dir.FullName, KeyRoles.Actuator);
        Assert.Equal(new KeyIdentity(actuator, KeyRoles.Actuator, "agent-1"), sealer.Identity);
        var trusted = SigningKeys.LoadRecordVerifier(_dir.FullName).Identities.OrderBy(i => i.Role, StringComparer.Ordinal).ToList();
        Assert.Equal([KeyRoles.Actuator, KeyRoles.Planner, KeyRoles.Probe], trusted.Select(i => i.Role));
        Assert.Throws<ArgumentException>(() => SigningKeys.Generate(_dir.FullName, KeyRoles.Probe, null));
        Assert.Throws<ArgumentException>(() => SigningKeys.Generate(_dir.FullName, "root", "x"));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
