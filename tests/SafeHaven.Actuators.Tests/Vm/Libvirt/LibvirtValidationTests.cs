using System.Xml.Linq;
using SafeHaven.Actuators.Vm;
using SafeHaven.Actuators.Vm.Libvirt;

namespace SafeHaven.Actuators.Tests.Vm.Libvirt;

/// <summary>Domain XML, URI and name validation, event parsing: no daemon needed.</summary>
public sealed class LibvirtValidationTests
{
    private static readonly QemuGuestSpec Spec = new() { Name = "guest-1", MemoryMb = 512, Kernel = "/boot/vmlinuz", Initrd = "/boot/initrd.gz" };

    // Never started: every test here must fail before a process would run.
    private static readonly LibvirtConnection Nowhere = new(LibvirtUri.ForSocket("/nonexistent/libvirt-sock")) { VirshBinary = "/nonexistent/virsh" };

    [Fact]
    public void Domain_xml_is_a_tcg_q35_direct_boot_guest_with_a_file_serial_and_nothing_else()
    {
        var xml = XElement.Parse(LibvirtDomainXml.Build(Spec with { Append = "console=ttyS0 x=\"<&'>\"" }, "/tmp/s/guest-1.serial"));

        Assert.Equal("qemu", (string?)xml.Attribute("type"));
        Assert.Equal("guest-1", (string?)xml.Element("name"));
        Assert.Equal("512", (string?)xml.Element("memory"));
        Assert.Equal("MiB", (string?)xml.Element("memory")!.Attribute("unit"));
        var os = xml.Element("os")!;
        Assert.Equal("q35", (string?)os.Element("type")!.Attribute("machine"));
        Assert.Equal("/boot/vmlinuz", (string?)os.Element("kernel"));
        Assert.Equal("/boot/initrd.gz", (string?)os.Element("initrd"));
        Assert.Equal("console=ttyS0 x=\"<&'>\"", (string?)os.Element("cmdline")); // escaped, and round-trips
        Assert.Equal("qemu64", (string?)xml.Element("cpu")!.Element("model"));
        var devices = xml.Element("devices")!;
        Assert.Equal("/tmp/s/guest-1.serial", (string?)devices.Element("serial")!.Element("source")!.Attribute("path"));
        Assert.Equal("file", (string?)devices.Element("serial")!.Attribute("type"));
        Assert.DoesNotContain(devices.Elements(), e => e.Name.LocalName is "disk" or "interface" or "graphics");
        Assert.Equal("/tmp/s/guest-1.serial", LibvirtDomainXml.SerialPath(xml.ToString()));
    }

    [Fact]
    public void Destination_xml_redirects_serial_and_console_and_keeps_the_rest()
    {
        const string dumped = """
            <domain type='qemu'><name>g</name><uuid>0a294d61-6645-4e62-8b89-716d77b370b8</uuid><devices>
              <serial type='file'><source path='/a/g.serial'/><target type='isa-serial' port='0'/></serial>
              <console type='file'><source path='/a/g.serial'/><target type='serial' port='0'/></console>
              <serial type='pty'><target port='1'/></serial>
            </devices></domain>
            """;
        var moved = XElement.Parse(LibvirtDomainXml.WithSerialPath(dumped, "/b/g.serial"));

        Assert.All(moved.Descendants("source"), s => Assert.Equal("/b/g.serial", (string?)s.Attribute("path")));
        Assert.Equal(2, moved.Descendants("source").Count());
        Assert.Equal("0a294d61-6645-4e62-8b89-716d77b370b8", (string?)moved.Element("uuid"));
        Assert.Throws<ArgumentException>(() => LibvirtDomainXml.WithSerialPath("<domain><devices/></domain>", "/b/g.serial"));
        Assert.Throws<ArgumentException>(() => LibvirtDomainXml.WithSerialPath("<!DOCTYPE d [<!ENTITY x 'y'>]><domain>&x;</domain>", "/b/g.serial"));
        Assert.Throws<ArgumentException>(() => LibvirtDomainXml.WithSerialPath("<notadomain/>", "/b/g.serial"));
        Assert.Throws<ArgumentException>(() => LibvirtDomainXml.WithSerialPath(dumped, "relative/g.serial"));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("-c")]
    [InlineData("--all")]
    [InlineData("a b")]
    [InlineData("x;rm -rf /")]
    [InlineData("")]
    [InlineData("42")]
    [InlineData("0a294d61-6645-4e62-8b89-716d77b370b8")]
    [InlineData("0a294d6166454e628b89716d77b370b8")]
    [InlineData("g\n1")]
    public async Task Bad_domain_names_are_rejected_before_virsh_runs(string name)
    {
        Assert.Throws<ArgumentException>(() => LibvirtConnection.Domain(name));
        await Assert.ThrowsAsync<ArgumentException>(() => Nowhere.StateAsync(name));
        await Assert.ThrowsAsync<ArgumentException>(() => LibvirtMigrator.MigrateAsync(Nowhere, Nowhere, name, null, null, new MigrationOptions()));
        Assert.Throws<ArgumentException>(() => LibvirtDomainXml.Build(Spec with { Name = name }, "/tmp/s.serial"));
    }

    [Theory]
    [InlineData("qemu:///system")]
    [InlineData("qemu+unix:///system?socket=/tmp/shlv-1/a/run/libvirt-sock")]
    [InlineData("qemu+tls://hv-b.example/system")]
    [InlineData("qemu+ssh://hv-b/system")]
    public void Allowed_uris_parse_to_themselves(string uri) => Assert.Equal(uri, LibvirtUri.Parse(uri).Value);

    [Theory]
    [InlineData(null)]
    [InlineData("qemu:///session")]
    [InlineData("test:///default")]
    [InlineData("qemu+tcp://hv-b/system")]
    [InlineData("qemu+unix:///system?socket=relative/sock")]
    [InlineData("qemu+unix:///system?socket=/tmp/a&no_verify=1")]
    [InlineData("qemu+unix:///system?socket=/tmp/a b")]
    [InlineData("qemu+unix:///system?socket=/tmp/../etc/sock")]
    [InlineData("qemu+ssh://-oProxyCommand=x/system")]
    [InlineData("qemu+ssh://user@host/system")]
    [InlineData("qemu+ssh://hv-b/system?command=/bin/sh")]
    [InlineData("qemu+tls://hv-b:16514/system")]
    [InlineData("qemu:///system\n")]
    public void Other_uris_are_refused(string? uri) => Assert.Throws<ArgumentException>(() => LibvirtUri.Parse(uri));

    [Fact]
    public void Socket_paths_must_fit_a_unix_address()
    {
        Assert.Throws<ArgumentException>(() => LibvirtUri.ForSocket("/" + new string('a', 107)));
        Assert.Throws<ArgumentException>(() => LibvirtUri.ForHost("tcp", "hv-b"));
        Assert.Equal("qemu+tls://hv-b/system", LibvirtUri.ForHost("tls", "hv-b").Value);
    }

    [Theory]
    [InlineData("tcp://127.0.0.1", true)]
    [InlineData("tcp://hv-b:49152", true)]
    [InlineData("tcp://hv-b:0", false)]
    [InlineData("tcp://hv-b:70000", false)]
    [InlineData("unix:/tmp/x", false)]
    [InlineData("unix:///tmp/shlv-1/g.mig", true)]
    [InlineData("unix:///tmp/../etc/g.mig", false)]
    [InlineData("unix://relative/g.mig", false)]
    [InlineData("unix:///tmp/a b", false)]
    [InlineData("tcp://-x", false)]
    [InlineData("tcp://a b", false)]
    public void Migrate_uris_are_checked(string uri, bool ok)
    {
        var e = Record.Exception(() => LibvirtMigration.RequireMigrateUri(uri));
        Assert.Equal(ok, e is null);
    }

    [Fact]
    public void Monitor_event_lines_parse_with_qemu_stamps_and_other_domains_are_ignored()
    {
        var stop = LibvirtEventWatch.Parse("event STOP at 1795805175.914549 for domain 'g2': <null>", "g2", 7);
        var mig = LibvirtEventWatch.Parse("event MIGRATION at 1795805175.924879 for domain 'g2': {\"status\":\"postcopy-active\"}", "g2", 8);

        Assert.Equal("STOP", stop!.Name);
        Assert.Equal(1795805175914549, stop.EmittedAtUs);
        Assert.Equal(7, stop.ReceivedAt);
        Assert.Equal("postcopy-active", mig!.DataString("status"));
        Assert.Null(LibvirtEventWatch.Parse("event STOP at 1795805175.914549 for domain 'other': <null>", "g2", 9));
        Assert.Null(LibvirtEventWatch.Parse("error: disconnected from daemon", "g2", 9));
    }

    [Fact]
    public void Migrate_caps_pre_copy_and_post_copy_separately()
    {
        const string dest = "qemu+unix:///system?socket=/s";
        var defaults = LibvirtMigration.MigrateArguments("guest-1", dest, "/d.xml", null, new MigrationOptions());
        var capped = LibvirtMigration.MigrateArguments("guest-1", dest, "/d.xml", "unix:///m",
            new MigrationOptions { PrecopyBandwidthBytesPerSecond = 64L << 20, MaxBandwidthBytesPerSecond = 512L << 20 });
        var precopyOnly = LibvirtMigration.MigrateArguments("guest-1", dest, "/d.xml", null, new MigrationOptions { Postcopy = false });

        // MiB/s: 16 GiB/s both ways by default; a pre-copy cap leaves post-copy at the full rate.
        Assert.Equal(["migrate", "--live", "--p2p", "--bandwidth", "16384", "--xml", "/d.xml", "--postcopy", "--postcopy-bandwidth", "16384",
            "guest-1", dest], defaults);
        Assert.Equal(["migrate", "--live", "--p2p", "--bandwidth", "64", "--xml", "/d.xml", "--postcopy", "--postcopy-bandwidth", "512",
            "--migrateuri", "unix:///m", "guest-1", dest], capped);
        Assert.Equal(["migrate", "--live", "--p2p", "--bandwidth", "16384", "--xml", "/d.xml", "guest-1", dest], precopyOnly);
    }
}
