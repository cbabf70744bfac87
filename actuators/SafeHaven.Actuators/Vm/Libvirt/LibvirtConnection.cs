using System.Globalization;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>A domain's state as <c>virsh domstate --reason</c> prints it, e.g. <c>running</c> / <c>migrated</c>.</summary>
/// <param name="State">running, paused, shut off, …</param>
/// <param name="Reason">Why, e.g. booted, migrated, post-copy, post-copy failed; may be empty.</param>
public sealed record LibvirtDomainState(string State, string Reason)
{
    /// <summary>True when the guest's vCPUs run.</summary>
    public bool IsRunning => State == "running";

    /// <summary>True when libvirt reports a broken post-copy (the guest's memory is split between two hosts).</summary>
    public bool PostcopyFailed => Reason.StartsWith("post-copy failed", StringComparison.Ordinal);

    /// <inheritdoc/>
    public override string ToString() => Reason.Length == 0 ? State : $"{State} ({Reason})";
}

/// <summary>
/// One libvirt daemon, driven through virsh. Every domain name is checked with
/// <see cref="Identifiers.RequireLongToken"/> (and must not look like an id or UUID) before it becomes an argument.
/// </summary>
public sealed class LibvirtConnection(LibvirtUri uri)
{
    /// <summary>The daemon.</summary>
    public LibvirtUri Uri { get; } = uri ?? throw new ArgumentNullException(nameof(uri));

    /// <summary>The virsh binary; tests and agents may point it elsewhere.</summary>
    public string VirshBinary { get; init; } = "/usr/bin/virsh";

    /// <summary>Runs <c>virsh -c URI ARGS…</c>; the caller has validated <paramref name="args"/>.</summary>
    internal Task<VirshResult> RunAsync(IEnumerable<string> args, CancellationToken ct, string? stdin = null) =>
        Virsh.RunAsync(VirshBinary, Uri, args, stdin, ct);

    /// <summary>As <see cref="RunAsync"/>, throwing on a non-zero exit.</summary>
    internal async Task<string> RequireAsync(IEnumerable<string> args, CancellationToken ct, string? stdin = null)
    {
        var list = args.ToList();
        var r = await RunAsync(list, ct, stdin).ConfigureAwait(false);
        return r.Ok ? r.Stdout : throw new LibvirtException($"virsh {list[0]} on {Uri}: {r.Error} (exit {r.ExitCode})");
    }

    /// <summary>
    /// Defines <paramref name="spec"/> persistently (<see cref="LibvirtDomainXml.Build"/>) and starts it; on a failed
    /// start the definition is removed again.
    /// </summary>
    /// <exception cref="LibvirtException">libvirt refused; its error is in the message.</exception>
    public async Task DefineAndStartAsync(QemuGuestSpec spec, string serialPath, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var xml = LibvirtDomainXml.Build(spec, serialPath);
        // The XML goes through stdin: no temporary file for anyone else to swap.
        await RequireAsync(["define", "/dev/stdin"], ct, xml).ConfigureAwait(false);
        var started = await RunAsync(["start", spec.Name], ct).ConfigureAwait(false);
        if (!started.Ok)
        {
            await RunAsync(["undefine", spec.Name], CancellationToken.None).ConfigureAwait(false);
            throw new LibvirtException($"virsh start {spec.Name} on {Uri}: {started.Error}");
        }
    }

    /// <summary>The domain's state, or null when this daemon does not know it.</summary>
    /// <exception cref="LibvirtException">The daemon could not be asked.</exception>
    public async Task<LibvirtDomainState?> StateAsync(string domain, CancellationToken ct = default)
    {
        var r = await RunAsync(["domstate", "--reason", Domain(domain)], ct).ConfigureAwait(false);
        if (!r.Ok)
        {
            // virsh says "failed to get domain" for an unknown one; anything else is a broken connection.
            return r.Stderr.Contains("failed to get domain", StringComparison.Ordinal) || r.Stderr.Contains("Domain not found", StringComparison.Ordinal)
                ? null : throw new LibvirtException($"virsh domstate {domain} on {Uri}: {r.Error}");
        }
        var line = r.Stdout.Trim();
        var open = line.IndexOf(" (", StringComparison.Ordinal);
        return open < 0 ? new LibvirtDomainState(line, "") : new LibvirtDomainState(line[..open], line[(open + 2)..].TrimEnd(')'));
    }

    /// <summary>True when the domain has a persistent definition (<c>virsh dominfo</c>'s <c>Persistent</c>).</summary>
    public async Task<bool> IsPersistentAsync(string domain, CancellationToken ct = default) =>
        Field(await RequireAsync(["dominfo", Domain(domain)], ct).ConfigureAwait(false), "Persistent") == "yes";

    /// <summary>The domain's XML as a migration destination must receive it (<c>dumpxml --migratable</c>).</summary>
    public Task<string> MigratableXmlAsync(string domain, CancellationToken ct = default) =>
        RequireAsync(["dumpxml", "--migratable", Domain(domain)], ct);

    /// <summary>
    /// Statistics of the domain's last completed job (<c>domjobinfo --completed --keep-completed --rawstats</c>:
    /// memory_processed, downtime, time_elapsed, …); empty when libvirt kept none.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> CompletedJobStatsAsync(string domain, CancellationToken ct = default)
    {
        var r = await RunAsync(["domjobinfo", "--completed", "--keep-completed", "--rawstats", Domain(domain)], ct).ConfigureAwait(false);
        var stats = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!r.Ok)
        {
            return stats;
        }
        foreach (var line in r.Stdout.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && long.TryParse(line.AsSpan(colon + 1).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            {
                stats[line[..colon].Trim()] = v;
            }
        }
        return stats;
    }

    /// <summary>Resumes a paused domain.</summary>
    public Task ResumeAsync(string domain, CancellationToken ct = default) => RequireAsync(["resume", Domain(domain)], ct);

    /// <summary>Removes a (shut off) persistent definition.</summary>
    public Task UndefineAsync(string domain, CancellationToken ct = default) => RequireAsync(["undefine", Domain(domain)], ct);

    /// <summary>Stops the domain if it runs and removes its definition; a domain this daemon does not know is fine.</summary>
    public async Task RemoveAsync(string domain, CancellationToken ct = default)
    {
        if (await StateAsync(domain, ct).ConfigureAwait(false) is not { } state)
        {
            return;
        }
        if (state.State != "shut off")
        {
            await RunAsync(["destroy", domain], ct).ConfigureAwait(false);
        }
        await RunAsync(["undefine", domain], ct).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override string ToString() => Uri.Value;

    /// <summary>
    /// A VM name that virsh can only read as a name: a long token (<see cref="Identifiers"/>) that is neither all
    /// digits nor UUID-shaped, since virsh looks a domain up by id and by UUID before it tries the name.
    /// </summary>
    /// <exception cref="ArgumentException">Not such a name.</exception>
    internal static string Domain(string? name)
    {
        name = Identifiers.RequireLongToken(name, "domain");
        if (name.All(char.IsAsciiDigit) || Guid.TryParseExact(name, "D", out _) || Guid.TryParseExact(name, "N", out _))
        {
            throw new ArgumentException($"domain: '{name}' would be read by virsh as a domain id or UUID, not a name", nameof(name));
        }
        return name;
    }

    // "Persistent:     yes" → "yes".
    private static string? Field(string text, string name) =>
        text.Split('\n').Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim() == name)
            .Select(p => p[1].Trim()).FirstOrDefault();
}
