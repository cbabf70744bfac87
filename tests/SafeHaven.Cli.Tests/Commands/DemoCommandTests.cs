using System.Text.Json;

namespace SafeHaven.Cli.Tests.Commands;

/// <summary>The main job, end to end on the embedded broker, with real cgroups and /proc.</summary>
[Collection(SafeHaven.Cli.Tests.Pipeline.PoolCpuTests.Name)]
public sealed class DemoCommandTests
{
    [SkippableFact]
    public async Task Demo_isolates_the_noisy_workload_and_leaves_the_benign_one()
    {
        Skip.IfNot(Environment.UserName == "root", "the demo moves processes between cpusets, which needs root");
        Skip.IfNot(Directory.Exists("/sys/fs/cgroup/cpuset") || File.Exists("/sys/fs/cgroup/cgroup.controllers"), "no cgroup cpuset controller on this host");
        Skip.If(Environment.ProcessorCount < 2, "isolation needs at least 2 CPUs");

        var run = await CliRunner.RunAsync(TimeSpan.FromMinutes(3), "demo", "--json");

        Assert.True(run.ExitCode == 0, $"demo exited {run.ExitCode}; stderr: {run.Stderr}");
        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        var pool = root.GetProperty("pool").GetString();
        var noisyPid = root.GetProperty("noisy").GetProperty("pid").GetInt32();
        var benignPid = root.GetProperty("benign").GetProperty("pid").GetInt32();
        Assert.Equal(pool, root.GetProperty("noisy").GetProperty("cpus").GetString());
        Assert.Equal(root.GetProperty("shared").GetString(), root.GetProperty("benign").GetProperty("cpus").GetString());

        var detections = root.GetProperty("detections").EnumerateArray().ToList();
        Assert.Contains(detections, d => d.GetProperty("entity").GetProperty("pid").GetInt32() == noisyPid);
        Assert.DoesNotContain(detections, d => d.GetProperty("entity").GetProperty("pid").GetInt32() == benignPid);
        var detection = detections.First(d => d.GetProperty("entity").GetProperty("pid").GetInt32() == noisyPid);
        Assert.True(detection.GetProperty("rate").GetDouble() > detection.GetProperty("threshold").GetDouble());
        Assert.Equal("core", detection.GetProperty("scope").GetString());

        var result = Assert.Single(root.GetProperty("results").EnumerateArray());
        Assert.Equal("succeeded", result.GetProperty("status").GetString());
        Assert.Equal("core", result.GetProperty("level").GetString());
        Assert.Equal(noisyPid, result.GetProperty("pid").GetInt32());
        Assert.Equal(pool, result.GetProperty("cpus").GetString());
        Assert.True(result.GetProperty("totalMs").GetDouble() > 0);
        Assert.True(result.GetProperty("phases").TryGetProperty("verify", out _));
        Assert.True(root.GetProperty("summary").GetProperty("sampleToResultMs").GetDouble() > 0);
    }
}
