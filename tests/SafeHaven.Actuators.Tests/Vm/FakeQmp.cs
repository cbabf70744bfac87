using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>
/// A scripted QEMU monitor on a unix socket: greets, then answers each command with what <c>answer</c> returns
/// (an empty object when it returns null) and records every command in order. The script may emit events,
/// which are written before the reply, as QEMU does for events raised while a command runs.
/// </summary>
internal sealed class FakeQmp : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly Func<string, JsonObject?, FakeQmp, JsonNode?> _answer;
    private readonly List<(string Command, JsonObject? Arguments)> _commands = [];
    private readonly CancellationToken _ct;
    private readonly Task _serving;
    private StreamWriter? _writer;

    public FakeQmp(string socketPath, Func<string, JsonObject?, FakeQmp, JsonNode?> answer, CancellationToken ct)
    {
        (SocketPath, _answer, _ct) = (socketPath, answer, ct);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(1);
        _serving = Task.Run(ServeAsync, ct);
    }

    public string SocketPath { get; }

    /// <summary>The commands received so far, in order (qmp_capabilities included).</summary>
    public IReadOnlyList<(string Command, JsonObject? Arguments)> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    /// <summary>Writes an event with QEMU's <c>timestamp</c> member (<paramref name="emittedUs"/> since the epoch).</summary>
    public void Emit(string name, JsonObject? data = null, long emittedUs = 0)
    {
        var message = new JsonObject
        {
            ["event"] = name, ["data"] = data ?? [],
            ["timestamp"] = new JsonObject { ["seconds"] = emittedUs / 1_000_000, ["microseconds"] = emittedUs % 1_000_000 },
        };
        Write(message.ToJsonString());
    }

    private void Write(string line)
    {
        lock (_listener)
        {
            _writer!.Write(line + "\n");
        }
    }

    private async Task ServeAsync()
    {
        using var conn = await _listener.AcceptAsync(_ct);
        await using var stream = new NetworkStream(conn, ownsSocket: false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true };
        Write("""{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": []}}""");
        while (await reader.ReadLineAsync(_ct) is { } line)
        {
            var request = JsonNode.Parse(line)!.AsObject();
            var command = (string)request["execute"]!;
            var arguments = request["arguments"]?.AsObject();
            lock (_commands)
            {
                _commands.Add((command, arguments));
            }
            var reply = _answer(command, arguments, this) ?? new JsonObject();
            Write(new JsonObject { ["return"] = reply, ["id"] = request["id"]!.DeepClone() }.ToJsonString());
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        try
        {
            await _serving.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException or TimeoutException)
        {
            // The client closed first, or the test ended the wait.
        }
        _writer?.Dispose();
    }
}
