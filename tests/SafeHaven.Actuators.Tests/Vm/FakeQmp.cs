using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>
/// A scripted QEMU monitor on a unix socket: greets one client, then answers each command with what <c>answer</c>
/// returns (an empty object for null, a QEMU error when it throws <see cref="QemuError"/>) and records every
/// command in order. The script may emit events, which go out before the reply, as QEMU sends events raised
/// while a command runs.
/// </summary>
internal sealed class FakeQmp : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly Func<string, JsonObject?, FakeQmp, JsonNode?> _answer;
    private readonly List<(string Command, JsonObject? Arguments)> _commands = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop;
    private readonly Task _serving;
    private StreamWriter? _writer;

    public FakeQmp(string socketPath, Func<string, JsonObject?, FakeQmp, JsonNode?> answer, CancellationToken ct)
    {
        (SocketPath, _answer) = (socketPath, answer);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(1);
        _serving = Task.Run(ServeAsync, _stop.Token);
    }

    public string SocketPath { get; }

    /// <summary>The commands received so far, in order (qmp_capabilities included).</summary>
    public IReadOnlyList<(string Command, JsonObject? Arguments)> Commands
    {
        get
        {
            lock (_gate)
            {
                return [.. _commands];
            }
        }
    }

    /// <summary>Writes an event with QEMU's <c>timestamp</c> member (<paramref name="emittedUs"/> since the epoch).</summary>
    /// <exception cref="InvalidOperationException">No client has connected yet.</exception>
    public void Emit(string name, JsonObject? data = null, long emittedUs = 0) => Write(new JsonObject
    {
        ["event"] = name, ["data"] = data ?? [],
        ["timestamp"] = new JsonObject { ["seconds"] = emittedUs / 1_000_000, ["microseconds"] = emittedUs % 1_000_000 },
    });

    private void Write(JsonObject message)
    {
        lock (_gate)
        {
            (_writer ?? throw new InvalidOperationException("no QMP client has connected yet")).Write(message.ToJsonString() + "\n");
        }
    }

    private async Task ServeAsync()
    {
        var token = _stop.Token;
        using var conn = await _listener.AcceptAsync(token);
        await using var stream = new NetworkStream(conn, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
        lock (_gate)
        {
            _writer = writer;
        }
        try
        {
            Write(JsonNode.Parse("""{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}""")!.AsObject());
            while (await reader.ReadLineAsync(token) is { } line)
            {
                var request = JsonNode.Parse(line)!.AsObject();
                var (command, arguments) = ((string)request["execute"]!, request["arguments"]?.AsObject());
                lock (_gate)
                {
                    _commands.Add((command, arguments));
                }
                JsonObject reply;
                try
                {
                    reply = new JsonObject { ["return"] = _answer(command, arguments, this) ?? new JsonObject() };
                }
                catch (QemuError e)
                {
                    reply = new JsonObject { ["error"] = new JsonObject { ["class"] = "GenericError", ["desc"] = e.Message } };
                }
                reply["id"] = request["id"]!.DeepClone();
                Write(reply);
            }
        }
        finally
        {
            lock (_gate)
            {
                _writer = null;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _serving;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // Stopped while accepting or reading: the end this asked for.
        }
        _stop.Dispose();
    }

    /// <summary>Thrown by a script to answer with a QEMU error.</summary>
    internal sealed class QemuError(string message) : Exception(message);
}
