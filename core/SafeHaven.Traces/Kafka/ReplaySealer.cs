using SafeHaven.Security;

namespace SafeHaven.Traces.Kafka;

/// <summary>
/// Seals replayed records as their hosts' probes would (docs/SECURITY.md): samples with the host MAC key derived from a
/// sample master (<c>*.mac</c>) or an enrolled host key (<c>*.hostmac</c>), else the probe key of the host; inventory with
/// the probe key (<c>*.key</c>, role probe) whose subject is the record's DATACENTER/HOST. A trace may hold several
/// hosts: each gets its own sealer, looked up once. <see cref="None"/> seals nothing.
/// </summary>
public sealed class ReplaySealer : IDisposable
{
    private readonly string? _directory;
    private readonly (string Id, byte[] Key)? _master;
    private readonly Dictionary<string, RecordSigner?> _samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RecordSigner?> _inventory = new(StringComparer.Ordinal);

    private ReplaySealer(string? directory, Dictionary<string, byte[]> masters)
    {
        _directory = directory;
        if (masters.Count > 0)
        {
            // The same choice as a process that runs every role (RoleSeals): the first master by id.
            var first = masters.OrderBy(m => m.Key, StringComparer.Ordinal).First();
            _master = (first.Key, first.Value);
        }
    }

    /// <summary>Seals nothing.</summary>
    public static ReplaySealer None => new(null, []);

    /// <summary>Keys from a directory (or one key file).</summary>
    /// <exception cref="KeyFileException">A key there is too open or malformed.</exception>
    public static ReplaySealer FromDirectory(string path) => new(path, SampleMacKeys.LoadMasters(path));

    /// <summary>True when some key can seal samples (whether it speaks for a given host is known only per host).</summary>
    public bool HasKeys => _directory is not null;

    /// <summary>The sealer of samples of DATACENTER/HOST <paramref name="subject"/>, or null when no key speaks for it.</summary>
    public RecordSigner? ForSamples(string subject)
    {
        if (_directory is null)
        {
            return null;
        }
        if (!_samples.TryGetValue(subject, out var signer))
        {
            signer = _master is { } m && SampleMacKeys.IsHostSubject(subject)
                ? RecordSigner.HostMac(SampleMacKeys.Derive(m.Key, subject), new KeyIdentity(m.Id, KeyRoles.Probe, subject))
                : SampleMacKeys.LoadHostSealer(_directory, subject) ?? ForInventory(subject);
            _samples[subject] = signer;
        }
        return signer;
    }

    /// <summary>The probe key of DATACENTER/HOST <paramref name="subject"/> (inventory), or null.</summary>
    public RecordSigner? ForInventory(string subject)
    {
        if (_directory is null)
        {
            return null;
        }
        if (!_inventory.TryGetValue(subject, out var signer))
        {
            var files = Directory.Exists(_directory)
                ? new DirectoryInfo(_directory).GetFiles("*.key").OrderByDescending(f => f.LastWriteTimeUtc).Select(f => f.FullName)
                : _directory.EndsWith(".key", StringComparison.Ordinal) ? [_directory] : [];
            var file = files.FirstOrDefault(f => SigningKeys.RoleOf(f) == (KeyRoles.Probe, subject));
            signer = file is null ? null : SigningKeys.LoadRecordSigner(file, KeyRoles.Probe);
            _inventory[subject] = signer;
        }
        return signer;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var s in _samples.Values.Concat(_inventory.Values).OfType<RecordSigner>().Distinct())
        {
            s.Dispose();
        }
    }
}
