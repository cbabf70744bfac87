using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SafeHaven.Kafka.Tests.Security;

/// <summary>A throwaway directory with a CA, a client certificate and key signed by it, and secret files, each with the mode asked for.</summary>
internal sealed class TestCredentials : IDisposable
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("safehaven-security-");

    public TestCredentials()
    {
        // One clock reading: a client certificate may not outlive its CA, even by the milliseconds between two reads.
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=safehaven-test-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        using var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var clientRequest = new CertificateRequest("CN=probe", clientKey, HashAlgorithmName.SHA256);
        using var client = clientRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1).AddMinutes(-1), [1, 2, 3, 4]);
        CaFile = Write("ca.pem", ca.ExportCertificatePem(), Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        CertificateFile = Write("client.pem", client.ExportCertificatePem(), Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        KeyFile = Write("client.key", clientKey.ExportPkcs8PrivateKeyPem(), Private);
        PasswordFile = Write("probe.password", "s3cret-pw\n", Private);
    }

    public string CaFile { get; }

    public string CertificateFile { get; }

    public string KeyFile { get; }

    public string PasswordFile { get; }

    public string Missing => Path.Join(_dir.FullName, "missing");

    public string Write(string name, string text, UnixFileMode mode)
    {
        var path = Path.Join(_dir.FullName, name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
