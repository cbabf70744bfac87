using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SafeHaven.Actuators.Vm.Libvirt;

/// <summary>
/// QEMU's own QMP events (STOP, RESUME, MIGRATION, MIGRATION_PASS) of one domain as libvirt relays them
/// (<c>virsh qemu-monitor-event --loop</c>), with QEMU's <c>timestamp</c>: the same clock the QMP backend
/// measures downtime on. Reading events taints nothing; only sending raw monitor commands would.
/// </summary>
internal sealed partial class LibvirtEventWatch : IDisposable
{
    private readonly Process _process;
    private readonly string _domain;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<QmpEvent> _events = [];
    private readonly Task _reader;

    private LibvirtEventWatch(Process process, string domain, TimeProvider time)
    {
        _process = process;
        _domain = domain;
        _time = time;
        // Drained so a chatty stderr can never block virsh.
        _ = process.StandardError.ReadToEndAsync();
        _reader = Task.Run(ReadAsync);
    }

    /// <summary>
    /// Starts watching <paramref name="domain"/> on <paramref name="connection"/>. With <paramref name="existing"/>
    /// false the domain need not exist yet (a migration destination): all events are read and filtered by name.
    /// </summary>
    public static LibvirtEventWatch Start(LibvirtConnection connection, string domain, bool existing, TimeProvider time)
    {
        LibvirtConnection.Domain(domain);
        List<string> args = ["qemu-monitor-event", "--loop"];
        if (existing)
        {
            args.AddRange(["--domain", domain]);
        }
        return new LibvirtEventWatch(Virsh.Start(connection.VirshBinary, connection.Uri, args), domain, time);
    }

    /// <summary>The events seen so far, oldest first.</summary>
    public IReadOnlyList<QmpEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The first event matching <paramref name="match"/>, or null.</summary>
    public QmpEvent? First(Func<QmpEvent, bool> match) => Events.FirstOrDefault(match);

    /// <summary>Polls (every 5 ms) until an event matches; null when <paramref name="ct"/> ends the wait first.</summary>
    public async Task<QmpEvent?> WaitAsync(Func<QmpEvent, bool> match, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                if (First(match) is { } e)
                {
                    return e;
                }
                await Task.Delay(5, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>Stops virsh.</summary>
    public void Dispose()
    {
        Virsh.Kill(_process);
#pragma warning disable RS0030 // Dispose is synchronous; the reader ends once virsh is killed, and the wait is bounded.
        _reader.Wait(TimeSpan.FromSeconds(2));
#pragma warning restore RS0030
        _process.Dispose();
    }

    /// <summary>One line of virsh's output as an event, or null when it is not one of <paramref name="domain"/>.</summary>
    internal static QmpEvent? Parse(string line, string domain, long receivedAt)
    {
        // event STOP at 1795805175.914549 for domain 'g2': <null>
        var m = Line().Match(line);
        if (!m.Success || m.Groups["domain"].Value != domain)
        {
            return null;
        }
        var us = (long.Parse(m.Groups["s"].Value, CultureInfo.InvariantCulture) * 1_000_000)
            + long.Parse(m.Groups["us"].Value, CultureInfo.InvariantCulture);
        var data = m.Groups["data"].Value;
        JsonElement json;
        try
        {
            json = Parse(data == "<null>" ? "{}" : data);
        }
        catch (JsonException)
        {
            json = Empty();
        }
        return new QmpEvent(m.Groups["name"].Value, json, receivedAt, us);
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (Parse(line, _domain, _time.GetTimestamp()) is { } e)
                {
                    lock (_gate)
                    {
                        _events.Add(e);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // virsh was stopped.
        }
    }

    private static JsonElement Empty() => Parse("{}");

    // A JsonDocument rents pooled buffers until disposed: copy the element out, then dispose it.
    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    [GeneratedRegex(@"^event (?<name>[A-Z_]+) at (?<s>\d{1,12})\.(?<us>\d{6}) for domain '(?<domain>[^']*)': (?<data>.*)\z", RegexOptions.CultureInvariant)]
    private static partial Regex Line();
}
