using System.Globalization;

namespace SafeHaven.Actuators.Container;

/// <summary>
/// Whether this host can move containers, as <c>criu check</c> and the tools around it tell. An agent announces
/// level <c>container</c> only when <see cref="Available"/>: otherwise the planner escalates to the next level.
/// </summary>
public sealed record CriuCapability
{
    // criu's lazy-pages source resizes a pipe to PIPE_MAX_SIZE = 8 pages / 40-byte pipe_buffer = 819 pages.
    // Above fs.pipe-max-size that needs CAP_SYS_RESOURCE; without it criu 4.1 ignores the failure, leaves its
    // sink descriptor at -1, and the first page request fails with "splice: Bad file descriptor".
    internal const long LazyPipeBytes = 819 * 4096;
    private const int CapSysResource = 24;

    /// <summary>True when checkpoint/restore of a namespaced tree works here.</summary>
    public bool Available { get; init; }

    /// <summary>Why not, when <see cref="Available"/> is false.</summary>
    public string? Reason { get; init; }

    /// <summary>criu's version (e.g. 4.1.1), when it ran.</summary>
    public string? Version { get; init; }

    /// <summary>True when lazy pages (post-copy) work too.</summary>
    public bool LazyPages { get; init; }

    /// <summary>Why lazy pages do not, when <see cref="LazyPages"/> is false.</summary>
    public string? LazyPagesReason { get; init; }

    /// <summary>Runs <c>criu --version</c>, <c>criu check</c> and the lazy-pages checks; never throws for what it finds.</summary>
    public static async Task<CriuCapability> ProbeAsync(CriuOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        foreach (var tool in new[] { options.Binary, options.Unshare, options.Setsid, options.Bash })
        {
            if (!File.Exists(tool))
            {
                return new CriuCapability
                {
                    Reason = tool == options.Binary ? $"{tool} is missing (run deploy/criu/install-criu.sh)" : $"{tool} is missing",
                };
            }
        }
        var timeout = TimeSpan.FromSeconds(30);
        var version = await CriuRunner.RunAsync(options.Binary, ["--version"], timeout, ct).ConfigureAwait(false);
        if (!version.Succeeded)
        {
            return new CriuCapability { Reason = $"{options.Binary} --version failed: {Short(version.Output)}" };
        }
        var v = version.Output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Version:", StringComparison.Ordinal))?["Version:".Length..].Trim();
        var check = await CriuRunner.RunAsync(options.Binary, CriuArguments.Check(), timeout, ct).ConfigureAwait(false);
        if (!check.Succeeded)
        {
            return new CriuCapability { Version = v, Reason = $"criu check failed ({check.ExitCode}): {Short(check.Output)}" };
        }
        var uffd = await CriuRunner.RunAsync(options.Binary, CriuArguments.CheckFeature("uffd-noncoop"), timeout, ct).ConfigureAwait(false);
        var lazyReason = !uffd.Succeeded ? $"criu check --feature uffd-noncoop failed: {Short(uffd.Output)}" : PipeProblem();
        return new CriuCapability { Available = true, Version = v, LazyPages = lazyReason is null, LazyPagesReason = lazyReason };
    }

    /// <summary>Why criu's lazy-pages source would fail to size its pipes here, or null.</summary>
    public static string? PipeProblem()
    {
        if (HasCapability(CapSysResource))
        {
            return null;
        }
        var max = ReadLong("/proc/sys/fs/pipe-max-size");
        return max >= LazyPipeBytes ? null
            : $"fs.pipe-max-size is {max} bytes and CAP_SYS_RESOURCE is missing: criu's lazy-pages source needs pipes of {LazyPipeBytes} bytes " +
              "(else 'splice: Bad file descriptor'); sysctl -w fs.pipe-max-size=4194304 fixes it";
    }

    private static bool HasCapability(int bit)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapEff:", StringComparison.Ordinal));
            return line is not null && ulong.TryParse(line["CapEff:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var caps)
                && (caps & (1UL << bit)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static long ReadLong(string path)
    {
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string Short(string text)
    {
        var oneLine = text.ReplaceLineEndings(" ");
        return oneLine.Length > 300 ? oneLine[..300] : oneLine;
    }
}
