using SafeHaven.Actuators.Container;

namespace SafeHaven.Actuators.Tests.Container;

/// <summary>What the agent announces: level container only where criu really works.</summary>
public sealed class CriuCapabilityTests
{
    [Fact]
    public async Task Missing_criu_withholds_the_level_and_says_how_to_install_it()
    {
        var cap = await CriuCapability.ProbeAsync(new CriuOptions { Binary = "/nonexistent/criu" });
        Assert.False(cap.Available);
        Assert.Contains("install-criu.sh", cap.Reason, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_criu_whose_check_fails_withholds_the_level_with_criu_s_own_words()
    {
        // Debian 12's criu 3.17 fails `criu check` on kernels >= 6.13 ([vvar_vclock], criu#2532).
        const string debianCriu = "/usr/sbin/criu";
        Skip.IfNot(File.Exists(debianCriu), $"{debianCriu} (Debian 12's criu) is not installed");
        var cap = await CriuCapability.ProbeAsync(new CriuOptions { Binary = debianCriu });
        Skip.If(cap.Available, $"{debianCriu} {cap.Version} passes criu check on this kernel");
        Assert.StartsWith("criu check failed", cap.Reason, StringComparison.Ordinal);
        Assert.False(cap.LazyPages);
    }

    [SkippableFact]
    public async Task Private_criu_passes_its_check_here()
    {
        Skip.If(CriuHost.Problem is not null, CriuHost.Problem);
        var cap = await CriuCapability.ProbeAsync(new CriuOptions());
        Assert.True(cap.Available, cap.Reason);
        Assert.StartsWith("4.", cap.Version, StringComparison.Ordinal);
        Assert.Equal(cap.LazyPages, CriuCapability.PipeProblem() is null && cap.LazyPagesReason is null);
    }
}
