using System.Text;

namespace SafeHaven.Security.Tests;

/// <summary>
/// <see cref="RecordVerifier.With"/>: how a planner with peers joins its own trust store and a peer's keys. A peer's
/// agent key left out by the filter must stay untrusted, and the original verifier must not change.
/// </summary>
public sealed class RecordVerifierWithTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void Only_the_admitted_keys_of_the_other_verifier_are_trusted_and_the_original_is_unchanged()
    {
        using var own = RecordSigner.Ephemeral(KeyRoles.Actuator, "h1-agent");
        using var peerPlanner = RecordSigner.Ephemeral(KeyRoles.Planner, "planner");
        using var peerAgent = RecordSigner.Ephemeral(KeyRoles.Actuator, "h1-agent");
        var home = RecordVerifier.Trusting(own);
        var peer = RecordVerifier.Trusting(peerPlanner, peerAgent);

        var joined = home.With(peer, who => who.Role == KeyRoles.Planner);

        var lease = peerPlanner.Sign("action-leases", B("dc2/hv1/vm/v1"), B("lease"));
        Assert.Null(joined.Verify("action-leases", B("dc2/hv1/vm/v1"), B("lease"), peerPlanner.Identity.KeyId, lease).Problem);
        // The peer's agent has the same subject as the own agent: its result must still not count here.
        var result = peerAgent.Sign("results", B("c-1"), B("ok"));
        Assert.StartsWith("results record sealed by untrusted key", joined.Verify("results", B("c-1"), B("ok"), peerAgent.Identity.KeyId, result).Problem);
        var mine = own.Sign("results", B("c-1"), B("ok"));
        Assert.Null(joined.Verify("results", B("c-1"), B("ok"), own.Identity.KeyId, mine).Problem);
        Assert.StartsWith("action-leases record sealed by untrusted key", home.Verify("action-leases", B("dc2/hv1/vm/v1"), B("lease"), peerPlanner.Identity.KeyId, lease).Problem);
        Assert.Equal(3, home.With(peer).Identities.Count());
    }
}
