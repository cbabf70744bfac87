using System.Globalization;
using System.Text.Json;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary><c>demo --vm</c> end to end: a real TCG guest detected, escalated and migrated post-copy on the embedded broker.</summary>
[Collection(SafeHaven.Cli.Tests.Pipeline.PoolCpuTests.Name)]
public sealed class VmDemoCommandTests
{
    [SkippableTheory]
    [InlineData("qmp")]
    [InlineData("libvirt")]
    public async Task Demo_vm_detects_the_guest_escalates_and_migrates_it_post_copy(string backend)
    {
        Skip.IfNot(Environment.UserName == "root", "post-copy migration needs userfaultfd, which this machine grants to root only");
        Skip.IfNot(File.Exists("/usr/bin/qemu-system-x86_64"), "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)");
        Skip.If(backend == "libvirt" && !(File.Exists("/usr/sbin/libvirtd") && File.Exists("/usr/bin/virsh")),
            "libvirtd or virsh is missing (apt-get install --no-install-recommends libvirt-daemon libvirt-clients)");

        // From the repository root the CLI finds tests/vm/build-guest.sh when the guest is not cached yet.
        var run = await CliRunner.RunInAsync(RepositoryRoot(), TimeSpan.FromMinutes(4), "demo", "--vm", "--backend", backend, "--json");

        Skip.If(run.ExitCode == 1 && run.Stderr.Contains("the test guest cannot be built", StringComparison.Ordinal), run.Stderr.Trim());
        Assert.True(run.ExitCode == 0, $"demo --vm exited {run.ExitCode}; stdout: {run.Stdout}; stderr: {run.Stderr}");
        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        var vm = root.GetProperty("vm");
        Assert.True(vm.GetProperty("heartbeatContinues").GetBoolean());
        Assert.True(vm.GetProperty("heartbeatAfter").GetInt64() > vm.GetProperty("heartbeatAtSource").GetInt64());

        var detection = Assert.Single(root.GetProperty("detections").EnumerateArray());
        Assert.Equal("machine", detection.GetProperty("scope").GetString());
        Assert.Equal("tenant-vm", detection.GetProperty("entity").GetProperty("vm").GetString());
        Assert.Equal("hv-a", detection.GetProperty("entity").GetProperty("host").GetString());
        Assert.True(detection.GetProperty("rate").GetDouble() > detection.GetProperty("threshold").GetDouble());

        // The planner sends the target agent its receive command, then the source its move.
        var commands = root.GetProperty("commands").EnumerateArray().ToList();
        Assert.Equal(["receive", "isolate"], commands.Select(c => c.GetProperty("action").GetString()));
        var command = commands[1];
        Assert.Equal(command.GetProperty("commandId").GetString() + "-in", commands[0].GetProperty("commandId").GetString());
        var reasons = command.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.Contains("level container: entity is not in a container", reasons);
        Assert.Contains(reasons, r => r!.StartsWith("level vm: vm moves from hv-a to hv-b", StringComparison.Ordinal));
        Assert.Equal(("hv-a", "hv-b"), (command.GetProperty("source").GetString(), command.GetProperty("target").GetString()));

        var results = root.GetProperty("results").EnumerateArray().ToDictionary(r => r.GetProperty("commandId").GetString()!);
        Assert.Equal(2, results.Count);
        var received = results[commands[0].GetProperty("commandId").GetString()!];
        Assert.Equal("succeeded", received.GetProperty("status").GetString());
        foreach (var phase in backend == "qmp" ? new[] { "prepare", "wait", "incoming", "postcopy", "verify" } : ["wait", "incoming", "verify"])
        {
            Assert.True(received.GetProperty("phases").TryGetProperty(phase, out _), $"destination phase {phase} missing: {received}");
        }
        var result = results[command.GetProperty("commandId").GetString()!];
        Assert.Equal("vm", result.GetProperty("level").GetString());
        Assert.Equal("succeeded", result.GetProperty("status").GetString());
        Assert.True(result.GetProperty("downtimeMs").GetDouble() > 0);
        Assert.True(result.GetProperty("bytesTransferred").GetInt64() > 1_000_000, $"a 128 MiB guest sends megabytes: {result}");
        Assert.True(result.GetProperty("totalMs").GetDouble() > result.GetProperty("downtimeMs").GetDouble());
        var phases = result.GetProperty("phases");
        foreach (var phase in backend == "qmp" ? new[] { "prepare", "setup", "switchover", "postcopy", "verify" } : ["setup", "precopy", "switchover", "postcopy", "verify"])
        {
            Assert.True(phases.TryGetProperty(phase, out _), $"phase {phase} missing: {phases}");
        }
        Assert.True(root.GetProperty("summary").GetProperty("downtimeMs").GetDouble() > 0);
        // Cleanup: neither QEMU of the run survives it.
        Assert.False(Directory.Exists($"/proc/{vm.GetProperty("qemuPid").GetInt32()}"), "the source QEMU still runs");
        Assert.DoesNotContain(QemuCommandLines(), c => c.Contains("guest=tenant-vm", StringComparison.Ordinal) && c.Contains("/tmp/shvm-demo-", StringComparison.Ordinal));
    }

    private static IEnumerable<string> QemuCommandLines()
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            string text;
            try
            {
                text = File.ReadAllText(Path.Join(dir, "cmdline")).Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            yield return text;
        }
    }

    private static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Join(Path.GetDirectoryName(source), "..", "..", ".."));
}
