using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>Domain XML for the guests SafeHaven runs through libvirt, built with LINQ to XML (every value escaped).</summary>
public static class LibvirtDomainXml
{
    /// <summary>
    /// The definition of <paramref name="spec"/>: TCG (<c>type='qemu'</c>, this machine's KVM runs firmware only),
    /// the spec's machine type, a <c>qemu64</c> CPU, direct kernel boot, ttyS0 written to <paramref name="serialPath"/>,
    /// and no disk, network, USB or balloon: all the guest's state is RAM, which is what live migration moves.
    /// </summary>
    /// <exception cref="ArgumentException">The spec or the serial path is invalid.</exception>
    public static string Build(QemuGuestSpec spec, string serialPath, string emulator = "/usr/bin/qemu-system-x86_64")
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        LibvirtConnection.Domain(spec.Name);
        QemuPaths.RequireOptionSafePath(serialPath, nameof(serialPath));
        QemuPaths.RequireOptionSafePath(emulator, nameof(emulator));
        var domain = new XElement("domain", new XAttribute("type", "qemu"),
            new XElement("name", spec.Name),
            new XElement("memory", new XAttribute("unit", "MiB"), spec.MemoryMb.ToString(CultureInfo.InvariantCulture)),
            new XElement("vcpu", "1"),
            new XElement("os",
                new XElement("type", new XAttribute("arch", "x86_64"), new XAttribute("machine", spec.Machine), "hvm"),
                new XElement("kernel", spec.Kernel),
                new XElement("initrd", spec.Initrd),
                new XElement("cmdline", spec.Append)),
            new XElement("features", new XElement("acpi")),
            new XElement("cpu", new XAttribute("mode", "custom"), new XAttribute("match", "exact"), new XAttribute("check", "none"),
                new XElement("model", new XAttribute("fallback", "forbid"), "qemu64")),
            new XElement("clock", new XAttribute("offset", "utc")),
            new XElement("on_poweroff", "destroy"),
            new XElement("on_reboot", "destroy"),
            new XElement("on_crash", "destroy"),
            new XElement("devices",
                new XElement("emulator", emulator),
                new XElement("controller", new XAttribute("type", "usb"), new XAttribute("model", "none")),
                new XElement("serial", new XAttribute("type", "file"),
                    new XElement("source", new XAttribute("path", serialPath)),
                    new XElement("target", new XAttribute("port", "0"))),
                new XElement("memballoon", new XAttribute("model", "none"))));
        return domain.ToString();
    }

    /// <summary>
    /// <paramref name="domainXml"/> (typically <c>virsh dumpxml --migratable</c> of the source) with every file-backed
    /// serial port and console writing to <paramref name="serialPath"/> instead: the destination's own file, since
    /// two daemons of one machine would otherwise write into the same one.
    /// </summary>
    /// <exception cref="ArgumentException">Bad path, or the XML is not a domain with a file-backed serial port.</exception>
    public static string WithSerialPath(string domainXml, string serialPath)
    {
        QemuPaths.RequireOptionSafePath(serialPath, nameof(serialPath));
        var doc = Parse(domainXml);
        var sources = doc.Root!.Elements("devices").Elements()
            .Where(e => e.Name.LocalName is "serial" or "console" && (string?)e.Attribute("type") == "file")
            .Select(e => e.Element("source"))
            .OfType<XElement>()
            .ToList();
        if (sources.Count == 0)
        {
            throw new ArgumentException("the domain has no file-backed serial port to redirect", nameof(domainXml));
        }
        foreach (var source in sources)
        {
            source.SetAttributeValue("path", serialPath);
        }
        return doc.Root.ToString();
    }

    /// <summary>The file the domain's first file-backed serial port writes to, or null.</summary>
    public static string? SerialPath(string domainXml) =>
        (string?)Parse(domainXml).Root!.Elements("devices").Elements("serial")
            .FirstOrDefault(e => (string?)e.Attribute("type") == "file")?.Element("source")?.Attribute("path");

    // The XML comes from virsh; still, no DTDs or entity expansion.
    private static XDocument Parse(string xml)
    {
        ArgumentNullException.ThrowIfNull(xml);
        try
        {
            using var reader = XmlReader.Create(new StringReader(xml),
                new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            var doc = XDocument.Load(reader);
            return doc.Root?.Name.LocalName == "domain" ? doc
                : throw new ArgumentException("not a libvirt domain XML", nameof(xml));
        }
        catch (XmlException e)
        {
            throw new ArgumentException($"not well-formed domain XML: {e.Message}", nameof(xml), e);
        }
    }
}
