using System.ComponentModel;
using System.Xml;
using System.Xml.Linq;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>Whether a hypervisor agent can offer the libvirt VM level, and if not, why.</summary>
/// <param name="Available">The daemon answers and its QEMU driver can run TCG x86_64 guests.</param>
/// <param name="Problem">Why not, or null.</param>
/// <param name="LibvirtVersion">e.g. <c>libvirt 9.0.0</c>, when the daemon answered.</param>
/// <param name="HypervisorVersion">e.g. <c>QEMU 7.2.22</c>, when the daemon answered.</param>
public sealed record LibvirtCapability(bool Available, string? Problem, string? LibvirtVersion = null, string? HypervisorVersion = null);

/// <summary>Checks a libvirt daemon without changing anything in it.</summary>
public static class LibvirtProbe
{
    /// <summary>
    /// Asks the daemon for its versions (<c>virsh version</c>: reachable, QEMU driver loaded) and for the domain
    /// capabilities of <c>type='qemu'</c> x86_64 on <paramref name="machine"/>: what <see cref="LibvirtDomainXml.Build"/> defines.
    /// </summary>
    public static async Task<LibvirtCapability> ProbeAsync(LibvirtConnection connection, string machine = "q35", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (machine is not ("q35" or "pc"))
        {
            throw new ArgumentException($"machine '{Identifiers.Printable(machine, 120)}' is not q35 or pc", nameof(machine));
        }
        if (!File.Exists(connection.VirshBinary))
        {
            return new(false, $"{connection.VirshBinary} is missing (apt-get install --no-install-recommends libvirt-clients)");
        }
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            var version = await connection.RunAsync(["version"], bound.Token).ConfigureAwait(false);
            if (!version.Ok)
            {
                return new(false, $"libvirt daemon at {connection.Uri} not reachable: {version.Error}");
            }
            var library = After(version.Stdout, "Using library:");
            var hypervisor = After(version.Stdout, "Running hypervisor:");
            if (hypervisor is null || !hypervisor.StartsWith("QEMU", StringComparison.Ordinal))
            {
                return new(false, $"libvirt daemon at {connection.Uri} runs no QEMU hypervisor ({hypervisor ?? "none"})", library, hypervisor);
            }
            var caps = await connection.RunAsync(["domcapabilities", "--virttype", "qemu", "--arch", "x86_64", "--machine", machine], bound.Token).ConfigureAwait(false);
            if (!caps.Ok)
            {
                return new(false, $"libvirt at {connection.Uri} cannot run x86_64 {machine} guests under TCG: {caps.Error}", library, hypervisor);
            }
            var root = XElement.Parse(caps.Stdout);
            var os = root.Element("os");
            if ((string?)root.Element("domain") != "qemu" || (string?)os?.Attribute("supported") != "yes")
            {
                return new(false, $"libvirt at {connection.Uri} reports no usable type='qemu' x86_64 {machine} domain", library, hypervisor);
            }
            return new(true, null, library, hypervisor);
        }
        catch (Exception e) when (e is Win32Exception or LibvirtException or XmlException or IOException)
        {
            return new(false, $"probing libvirt at {connection.Uri} failed: {e.Message}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new(false, $"libvirt daemon at {connection.Uri} did not answer within 20 s");
        }
    }

    // "Using library: libvirt 9.0.0" → "libvirt 9.0.0".
    private static string? After(string text, string label) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith(label, StringComparison.Ordinal))
            .Select(l => l[label.Length..].Trim()).FirstOrDefault();
}
