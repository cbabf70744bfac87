using System.Text;
using SafeHaven.Probes.Proc;

namespace SafeHaven.Probes.Tests.Proc;

public sealed class QemuCommandLineTests
{
    private const string Uuid = "5f1c3a52-8e0b-4c1e-9a3a-0d3f7a2b1c4d";

    [Fact]
    public void Libvirt_style_guest_name_and_uuid()
    {
        var g = QemuCommandLine.Parse(["/usr/bin/qemu-system-x86_64", "-name", "guest=web-01,debug-threads=on", "-S", "-uuid", Uuid.ToUpperInvariant()]);
        Assert.Equal(new QemuGuest("web-01", Uuid, null) { MemoryMiB = 128 }, g);
    }

    [Theory]
    [InlineData("-name", "plain.vm", "plain.vm")]
    [InlineData("--name", "plain.vm", "plain.vm")]
    [InlineData("-name", "vm1,process=qemu-vm1", "vm1")]
    [InlineData("-name", "debug-threads=on,guest=late", "late")]
    public void Name_forms(string opt, string value, string expected) =>
        Assert.Equal(expected, QemuCommandLine.Parse(["qemu-kvm", "-m", "16", opt, value])!.Name);

    [Fact]
    public void Last_name_wins_as_in_qemu() =>
        Assert.Equal("second", QemuCommandLine.Parse(["qemu-system-aarch64", "-name", "first", "-name", "second"])!.Name);

    [Theory]
    [InlineData("guest=a b,debug-threads=on", "not a valid identifier")]
    [InlineData("'quoted'", "not a valid identifier")]
    [InlineData("guest=x;rm -rf /", "not a valid identifier")]
    [InlineData("guest=-dash", "not a valid identifier")]
    [InlineData("a,,b", "not a valid identifier")]   // ",," is QemuOpts' escaped comma: the name is "a,b"
    [InlineData("guest=x\ny", "not a valid identifier")]
    [InlineData("debug-threads=on", "has no guest name")]
    [InlineData("guest=", "has no guest name")]
    public void Odd_names_leave_vm_null_with_a_note(string value, string note)
    {
        var g = QemuCommandLine.Parse(["qemu-system-x86_64", "-name", value, "-uuid", Uuid])!;
        Assert.Null(g.Name);
        Assert.Equal(Uuid, g.Uuid);
        Assert.Contains(note, g.Note, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', g.Note!);
    }

    [Fact]
    public void Missing_name_or_value_or_bad_uuid_is_noted()
    {
        Assert.Equal(new QemuGuest(null, null, "qemu without -name") { MemoryMiB = 128 }, QemuCommandLine.Parse(["qemu-system-x86_64", "-S"]));
        Assert.Equal("-name without a value", QemuCommandLine.Parse(["qemu-system-x86_64", "-name"])!.Note);
        var g = QemuCommandLine.Parse(["qemu-system-x86_64", "-name", "ok", "-uuid", "not-a-uuid"])!;
        Assert.Equal(("ok", (string?)null), (g.Name, g.Uuid));
    }

    [Theory]
    [InlineData("/bin/bash", "-c", "qemu-system-x86_64 -name guest=x")]
    [InlineData("python3", "qemu-system-x86_64", "-name")]
    [InlineData("/usr/bin/qemu-img", "-name", "x")]
    [InlineData("qemu-system-", "-name", "x")]
    [InlineData("my-qemu-kvm", "-name", "x")]
    public void Non_qemu_processes_are_not_vms(params string[] argv) => Assert.Null(QemuCommandLine.Parse(argv));

    [Fact]
    public void Cmdline_bytes_split_on_nul()
    {
        byte[] raw = Encoding.UTF8.GetBytes("qemu-system-x86_64\0-name\0guest=a b,debug-threads=on\0\0-S\0");
        Assert.Equal(["qemu-system-x86_64", "-name", "guest=a b,debug-threads=on", "", "-S"], QemuCommandLine.SplitArgs(raw));
        Assert.Empty(QemuCommandLine.SplitArgs([]));
        // A process that rewrote its title (setproctitle) without NULs is one argument, not a shell line.
        Assert.Single(QemuCommandLine.SplitArgs(Encoding.UTF8.GetBytes("qemu-system-x86_64 -name evil")));
    }

    [Theory]
    [InlineData("2048", 2048L)]
    [InlineData("512M", 512L)]
    [InlineData("2G", 2048L)]
    [InlineData("2g", 2048L)]
    [InlineData("size=4G,slots=2,maxmem=8G", 4096L)]
    [InlineData("1048576K", 1024L)]
    [InlineData("lots", null)]
    [InlineData("-5", null)]
    [InlineData("", null)]
    public void Memory_option_is_read_in_MiB(string value, long? expected) =>
        Assert.Equal(expected, QemuCommandLine.MemoryMiB(value));

    [Fact]
    public void Guest_memory_comes_from_m_and_defaults_to_128()
    {
        Assert.Equal(2048, QemuCommandLine.Parse(["qemu-system-x86_64", "-name", "guest=g1", "-m", "2G"])?.MemoryMiB);
        Assert.Equal(128, QemuCommandLine.Parse(["qemu-system-x86_64", "-name", "guest=g1"])?.MemoryMiB);
    }
}
