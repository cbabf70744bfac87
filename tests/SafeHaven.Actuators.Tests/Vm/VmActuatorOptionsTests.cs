using SafeHaven.Actuators.Vm;

namespace SafeHaven.Actuators.Tests.Vm;

public sealed class VmActuatorOptionsTests
{
    private static VmActuatorOptions Options(string backend = VmBackends.Qmp) => new()
    {
        Id = "hv-a", Backend = backend, Agents = { ["hv-a"] = "/tmp/a", ["hv-b"] = "/tmp/b" },
    };

    [Fact]
    public void The_libvirt_backend_needs_a_daemon_uri_for_every_agent_and_only_allow_listed_uris()
    {
        var options = Options(VmBackends.Libvirt);
        options.Libvirt["hv-a"] = "qemu+unix:///system?socket=/tmp/a/sock";
        Assert.Contains("no daemon URI for agent 'hv-b'", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);

        options.Libvirt["hv-b"] = "qemu+unix:///system?socket=/tmp/b/sock&x=1";
        Assert.Contains("must be an absolute path of [A-Za-z0-9._/-]", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);

        options.Libvirt["hv-b"] = "qemu+ssh://hv-b/system";
        options.Validate();
        Assert.Equal("qemu+ssh://hv-b/system", options.LibvirtOf("hv-b")!.Uri.Value);
        Assert.Null(options.LibvirtOf("hv-z"));
    }

    [Fact]
    public void Unknown_backends_and_unusable_limits_are_named()
    {
        Assert.Contains("Backend 'xen'", Assert.Throws<ArgumentException>(Options("xen").Validate).Message, StringComparison.Ordinal);
        var slow = Options();
        slow.PrepareTimeout = TimeSpan.Zero;
        Assert.Contains("PrepareTimeout", Assert.Throws<ArgumentException>(slow.Validate).Message, StringComparison.Ordinal);
        var capped = Options();
        capped.Migration = new MigrationOptions { MaxBandwidthBytesPerSecond = 0 };
        Assert.Contains("MaxBandwidthBytesPerSecond", Assert.Throws<ArgumentException>(capped.Validate).Message, StringComparison.Ordinal);
        var stalled = Options();
        stalled.Migration = new MigrationOptions { PrecopyBandwidthBytesPerSecond = 0 };
        Assert.Contains("PrecopyBandwidthBytesPerSecond", Assert.Throws<ArgumentException>(stalled.Validate).Message, StringComparison.Ordinal);
        Options().Validate();
    }
}
