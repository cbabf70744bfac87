using SafeHaven.Actuators.Container;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>criu's argument lists and the validation in front of them; no criu needed.</summary>
public sealed class CriuArgumentsTests
{
    [Fact]
    public void Page_server_dump_leaves_the_tree_stopped_and_streams_to_the_target()
    {
        var args = CriuArguments.Dump(4242, "/var/lib/sh/outgoing/web", "127.0.0.1", 27100, lazy: false, logLevel: 2);

        Assert.Equal(
        [
            "dump", "--tree", "4242", "--images-dir", "/var/lib/sh/outgoing/web", "--work-dir", "/var/lib/sh/outgoing/web",
            "--log-file", "dump.log", "-v2", "--leave-stopped", "--page-server", "--address", "127.0.0.1", "--port", "27100",
        ], args);
        Assert.DoesNotContain("--leave-running", args);
        Assert.DoesNotContain("--shell-job", args);
    }

    [Fact]
    public void Lazy_dump_serves_pages_itself()
    {
        var args = CriuArguments.Dump(7, "/d", "127.0.0.1", 27101, lazy: true, logLevel: 4);
        Assert.Contains("--lazy-pages", args);
        Assert.DoesNotContain("--page-server", args);
        Assert.Contains("-v4", args);
    }

    [Fact]
    public void Restore_is_detached_on_the_host_root_and_writes_the_pid()
    {
        var args = CriuArguments.Restore("/d/images", "/d/images/restored.pid", lazy: false, logLevel: 2);
        Assert.Equal(["restore", "--images-dir", "/d/images", "--work-dir", "/d/images", "--restore-detached", "--pidfile", "/d/images/restored.pid",
            "--root", "/", "--log-file", "restore.log", "-v2"], args);
        Assert.Contains("--lazy-pages", CriuArguments.Restore("/d", "/d/p", lazy: true, 2));
    }

    [Fact]
    public void Page_server_and_lazy_pages_daemonise_with_a_pid_file()
    {
        Assert.Equal(["page-server", "--images-dir", "/i", "--work-dir", "/i", "--address", "127.0.0.1", "--port", "27150",
            "--daemon", "--pidfile", "/i/ps.pid", "--log-file", "page-server.log", "-v2"], CriuArguments.PageServer("/i", "127.0.0.1", 27150, "/i/ps.pid", 2));
        var lazy = CriuArguments.LazyPages("/i", "10.1.2.3", 27151, "/i/lp.pid", 2);
        Assert.Equal(["lazy-pages", "--images-dir", "/i", "--work-dir", "/i", "--page-server", "--address", "10.1.2.3", "--port", "27151"], lazy.Take(10));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(4_194_305)]
    public void Bad_pids_never_reach_criu(int pid) =>
        Assert.Throws<ArgumentException>(() => CriuArguments.Dump(pid, "/d", "127.0.0.1", 27100, false, 2));

    [Theory]
    [InlineData("relative/dir")]
    [InlineData("")]
    [InlineData("/a/../etc")]
    [InlineData("/a/./b")]
    [InlineData("/a//b")]
    [InlineData("/a/b/")]
    [InlineData("/a\nb")]
    [InlineData("--images-dir")]
    public void Bad_paths_are_rejected(string path)
    {
        Assert.Throws<ArgumentException>(() => CriuArguments.RequireSafePath(path, "p"));
        Assert.Throws<ArgumentException>(() => CriuArguments.Dump(1, path, "127.0.0.1", 27100, false, 2));
        Assert.Throws<ArgumentException>(() => CriuArguments.Restore(path, "/p", false, 2));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.1")]
    [InlineData("127.0.0.1 --root /")]
    [InlineData("")]
    public void Addresses_must_be_literal_ips(string address) =>
        Assert.Throws<ArgumentException>(() => CriuArguments.PageServer("/i", address, 27100, "/i/p", 2));

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Ports_must_be_in_range(int port) =>
        Assert.Throws<ArgumentException>(() => CriuArguments.Dump(1, "/d", "127.0.0.1", port, false, 2));

    [Fact]
    public void Feature_names_are_tokens() =>
        Assert.Throws<ArgumentException>(() => CriuArguments.CheckFeature("uffd; rm -rf /"));

    [Fact]
    public void Launch_passes_values_as_arguments_after_a_fixed_script()
    {
        var args = CriuArguments.Launch(new CriuOptions(), "/s/containers/web.log", ["/bin/sh", "-c", "echo $1; rm -rf /", "x"]);

        Assert.Equal(["--pid", "--fork", "--mount-proc", "--uts", "--ipc", "--", "/usr/bin/setsid", "/bin/bash", "-c"], args.Take(9));
        Assert.Equal(CriuArguments.LaunchScript, args[9]);
        Assert.Equal(["safehaven-init", "/s/containers/web.log", "/bin/sh", "-c", "echo $1; rm -rf /", "x"], args.Skip(10));
        Assert.Throws<ArgumentException>(() => CriuArguments.Launch(new CriuOptions(), "/l", ["sh", "-c", "x"]));
        Assert.Throws<ArgumentException>(() => CriuArguments.Launch(new CriuOptions(), "/l", []));
        Assert.Throws<ArgumentException>(() => CriuArguments.Launch(new CriuOptions(), "rel.log", ["/bin/true"]));
    }

    [Fact]
    public void Options_validate_ranges_addresses_and_paths()
    {
        new CriuOptions().Validate();
        Assert.Throws<ArgumentException>(() => new CriuOptions { PortMin = 27200, PortMax = 27100 }.Validate());
        Assert.Throws<ArgumentException>(() => new CriuOptions { PortMin = 80 }.Validate());
        Assert.Throws<ArgumentException>(() => new CriuOptions { Address = "example.org" }.Validate());
        Assert.Throws<ArgumentException>(() => new CriuOptions { Binary = "criu" }.Validate());
        Assert.Throws<ArgumentException>(() => new CriuOptions { LogLevel = 5 }.Validate());
        Assert.Throws<ArgumentException>(() => new CriuOptions { CriuTimeout = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentException>(() => new CriuOptions { Mode = (CriuPageMode)7 }.Validate());
    }
}
