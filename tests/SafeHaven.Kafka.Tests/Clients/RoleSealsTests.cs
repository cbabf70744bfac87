using System.Text;
using SafeHaven.Kafka.Clients;
using SafeHaven.Security;

namespace SafeHaven.Kafka.Tests.Clients;

public sealed class RoleSealsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-role-seals-");

    [Fact]
    public void Persistent_keys_come_back_after_a_restart_so_what_was_sealed_before_still_verifies()
    {
        var keys = Path.Join(_dir.FullName, "record-keys");
        var value = Encoding.UTF8.GetBytes("slot record");
        var before = RoleSeals.Persistent(keys, "dc1/h1", "agent-1");
        var sealedBefore = Seals.Headers(before.Planner!, Seals.Kinds.Placements, "slot-1", value);

        var after = RoleSeals.Persistent(keys, "dc1/h1", "agent-1");
        var message = new Confluent.Kafka.Message<string, byte[]> { Key = "slot-1", Value = value, Headers = sealedBefore };

        Assert.Equal(before.Planner!.Identity, Seals.Require(after.Verifier!, Seals.Kinds.Placements, message));
        Assert.Equal(4, Directory.GetFiles(keys, "*.key").Length);
        Assert.All(Directory.GetFiles(keys, "*.key"), f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        // In-memory keys of another process are not trusted.
        var stranger = RoleSeals.Ephemeral("dc1/h1", "agent-1");
        message.Headers = Seals.Headers(stranger.Planner!, Seals.Kinds.Placements, "slot-1", value);
        Assert.Contains("untrusted key", Assert.Throws<SafeHaven.Kafka.Serialization.RecordRejectedException>(
            () => Seals.Require(after.Verifier!, Seals.Kinds.Placements, message)).Message, StringComparison.Ordinal);
        // Samples carry the host's MAC, under the master kept beside the keys, and verify after the restart too.
        var batch = new Confluent.Kafka.Message<string, byte[]> { Key = "h1", Value = value, Headers = Seals.Headers(before.Samples!, Seals.Kinds.Samples, "h1", value) };
        Assert.True(before.Samples!.IsHostMac);
        Assert.Equal(new KeyIdentity(before.SampleMac!.Identity.KeyId, KeyRoles.Probe, "dc1/h1"), Seals.Require(after.Verifier!, Seals.Kinds.Samples, batch));
        Assert.Single(Directory.GetFiles(keys, "*.mac"));
        // A renamed host gets a key of its own beside the old one.
        Assert.NotEqual(before.Probe!.Identity.KeyId, RoleSeals.Persistent(keys, "dc1/h2", "agent-1").Probe!.Identity.KeyId);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
