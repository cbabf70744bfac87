using System.Text;

namespace SafeHaven.Security.Tests;

/// <summary>Host MACs of samples: a host's derived key seals only its own samples, and only samples.</summary>
public sealed class SampleMacKeysTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-mac-");

    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private (RecordVerifier Detector, RecordSigner H1, RecordSigner H2) Enrolled()
    {
        var masters = Path.Join(_dir.FullName, "detector");
        var id = SampleMacKeys.GenerateMaster(masters);
        var master = Path.Join(masters, id + ".mac");
        foreach (var host in new[] { "h1", "h2" })
        {
            SampleMacKeys.Enrol(master, "dc1/" + host, Path.Join(_dir.FullName, host));
        }
        return (SigningKeys.LoadRecordVerifier(masters),
            SampleMacKeys.LoadHostSealer(Path.Join(_dir.FullName, "h1"), "dc1/h1")!,
            SampleMacKeys.LoadHostSealer(Path.Join(_dir.FullName, "h2"), "dc1/h2")!);
    }

    [Fact]
    public void A_host_mac_verifies_for_its_own_host_and_record_only()
    {
        var (detector, h1, h2) = Enrolled();
        var mac = h1.Sign("samples", B("h1"), B("batch"));

        Assert.Equal(32, mac.Length);
        Assert.Equal((new KeyIdentity(h1.Identity.KeyId, KeyRoles.Probe, "dc1/h1"), (string?)null),
            detector.Verify("samples", B("h1"), B("batch"), h1.Identity.KeyId, mac, "dc1/h1"));
        // Claiming another host derives another key: h1 cannot speak for h2, nor h2's key for h1.
        Assert.StartsWith("bad MAC", detector.Verify("samples", B("h1"), B("batch"), h1.Identity.KeyId, mac, "dc1/h2").Problem);
        Assert.StartsWith("bad MAC", detector.Verify("samples", B("h1"), B("batch"), h2.Identity.KeyId, h2.Sign("samples", B("h1"), B("batch")), "dc1/h1").Problem);
        Assert.StartsWith("bad MAC", detector.Verify("samples", B("h1"), B("batcH"), h1.Identity.KeyId, mac, "dc1/h1").Problem);
        Assert.StartsWith("bad MAC", detector.Verify("samples", B("h1"), B("batch"), h1.Identity.KeyId, mac.AsSpan(0, 16), "dc1/h1").Problem);
        Assert.Contains("without a valid 'sh-for'", detector.Verify("samples", B("h1"), B("batch"), h1.Identity.KeyId, mac, null).Problem, StringComparison.Ordinal);
        Assert.Contains("without a valid 'sh-for'", detector.Verify("samples", B("h1"), B("batch"), h1.Identity.KeyId, mac, "dc1/../h1").Problem, StringComparison.Ordinal);
        Assert.True(detector.Trusts(KeyRoles.Probe));
    }

    [Fact]
    public void A_host_mac_key_seals_samples_only_and_a_master_verifies_no_other_kind()
    {
        var (detector, h1, _) = Enrolled();
        Assert.Throws<InvalidOperationException>(() => h1.Sign("inventory", B("k"), B("v")));
        var mac = SampleMacKeys.Mac(SampleMacKeys.Derive(new byte[32], "dc1/h1"), "detections", B("k"), B("v"));
        Assert.Contains("seals samples only", detector.Verify("detections", B("k"), B("v"), h1.Identity.KeyId, mac, "dc1/h1").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_files_are_0600_never_overwritten_and_refused_when_open_to_others()
    {
        var (_, h1, _) = Enrolled();
        var master = Directory.GetFiles(Path.Join(_dir.FullName, "detector"), "*.mac").Single();
        var host = Directory.GetFiles(Path.Join(_dir.FullName, "h1"), "*.hostmac").Single();
        Assert.All(new[] { master, host }, f => Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f)));
        Assert.Equal(Path.GetFileNameWithoutExtension(master), h1.Identity.KeyId);
        Assert.Contains("exists", Assert.Throws<KeyFileException>(() => SampleMacKeys.Enrol(master, "dc1/h1", Path.Join(_dir.FullName, "h1"))).Message, StringComparison.Ordinal);
        Assert.Contains("DATACENTER/HOST", Assert.Throws<KeyFileException>(() => SampleMacKeys.Enrol(master, "h1", _dir.FullName)).Message, StringComparison.Ordinal);
        Assert.Null(SampleMacKeys.LoadHostSealer(Path.Join(_dir.FullName, "h1"), "dc1/h2"));

        File.SetUnixFileMode(master, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.Contains("readable or writable by group or others", Assert.Throws<KeyFileException>(() => SigningKeys.LoadRecordVerifier(Path.GetDirectoryName(master)!)).Message, StringComparison.Ordinal);
        File.SetUnixFileMode(host, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        Assert.Throws<KeyFileException>(() => SampleMacKeys.LoadHostSealer(host, "dc1/h1"));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
