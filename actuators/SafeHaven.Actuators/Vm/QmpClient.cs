using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// A small QMP client over QEMU's unix socket: greeting and capability negotiation, commands matched to
/// their replies by id, and events kept with their receive time. One JSON object per line both ways.
/// </summary>
public sealed class QmpClient : IAsyncDisposable
{
    // Events are kept for WaitForEventAsync; a bound keeps a long-lived connection from growing.
    private const int KeptEvents = 4096;

    private readonly Socket _socket;
    private readonly StreamReader _reader;
    private readonly Stream _stream;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly ConcurrentDictionary<long, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly Lock _eventGate = new();
    private readonly List<QmpEvent> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _eventArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private long _nextId;
    private Exception? _broken;
    private int _disposed;

    private QmpClient(Socket socket, TimeProvider time)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, new UTF8Encoding(false));
        _time = time;
    }

    /// <summary>The clock of <see cref="QmpEvent.ReceivedAt"/>.</summary>
    public TimeProvider Time => _time;

    /// <summary>Connects to <paramref name="socketPath"/>, reads the greeting and leaves capability negotiation mode.</summary>
    /// <exception cref="QmpException">No QMP greeting, or negotiation failed.</exception>
    public static async Task<QmpClient> ConnectAsync(string socketPath, TimeProvider? time = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var client = new QmpClient(socket, time ?? TimeProvider.System);
        try
        {
            var greeting = await client._reader.ReadLineAsync(ct).ConfigureAwait(false);
            if (greeting is null || !IsGreeting(greeting))
            {
                throw new QmpException($"no QMP greeting on {socketPath}");
            }
            client._readLoop = Task.Run(client.ReadLoopAsync, CancellationToken.None);
            await client.ExecuteAsync("qmp_capabilities", null, ct).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs <paramref name="command"/> and returns its <c>return</c> member.</summary>
    /// <exception cref="QmpException">QEMU replied with an error, or the connection closed first.</exception>
    public async Task<JsonElement> ExecuteAsync(string command, JsonObject? arguments = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(command);
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = new JsonObject { ["execute"] = command, ["id"] = id };
        if (arguments is not null)
        {
            message["arguments"] = arguments.DeepClone();
        }
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString() + "\n");
        try
        {
            if (_broken is { } broken)
            {
                throw new QmpException($"QMP connection closed: {broken.Message}", broken);
            }
            await _writeGate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(bytes, ct).ConfigureAwait(false);
            }
            finally
            {
                _writeGate.Release();
            }
            return await reply.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new QmpException($"QMP '{command}' failed: {e.Message}", e);
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>The events received so far (at most the last 4096), oldest first.</summary>
    public IReadOnlyList<QmpEvent> Events
    {
        get
        {
            lock (_eventGate)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>
    /// The first event (already received or still to come) matching <paramref name="match"/>, received at or after
    /// <paramref name="since"/> (a <see cref="Time"/> timestamp). Cancel through <paramref name="ct"/> to bound the wait.
    /// </summary>
    public async Task<QmpEvent> WaitForEventAsync(Func<QmpEvent, bool> match, long since = 0, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(match);
        while (true)
        {
            Task arrived;
            lock (_eventGate)
            {
                if (_events.FirstOrDefault(e => e.ReceivedAt >= since && match(e)) is { } found)
                {
                    return found;
                }
                if (_broken is { } broken)
                {
                    throw new QmpException($"QMP connection closed: {broken.Message}", broken);
                }
                arrived = _eventArrived.Task;
            }
            await arrived.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (await _reader.ReadLineAsync(_stop.Token).ConfigureAwait(false) is { } line)
            {
                Dispatch(line, _time.GetTimestamp());
            }
            Break(new QmpException("QEMU closed the QMP socket"));
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or JsonException or SocketException)
        {
            Break(e);
        }
    }

    private static long? EmittedAt(JsonElement root) =>
        root.TryGetProperty("timestamp", out var ts) && ts.ValueKind == JsonValueKind.Object &&
        ts.TryGetProperty("seconds", out var s) && ts.TryGetProperty("microseconds", out var us) &&
        s.TryGetInt64(out var sec) && us.TryGetInt64(out var micro)
            ? (sec * 1_000_000) + micro
            : null;

    // A JsonDocument rents pooled buffers until disposed: parse, copy out what is kept, dispose.
    private static readonly JsonElement EmptyObject = ParseDetached("{}");

    private static JsonElement ParseDetached(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static bool IsGreeting(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.TryGetProperty("QMP", out _);
    }

    private void Dispatch(string line, long receivedAt)
    {
        JsonElement root;
        using (var document = JsonDocument.Parse(line))
        {
            root = document.RootElement.Clone();
        }
        if (root.TryGetProperty("event", out var name))
        {
            var data = root.TryGetProperty("data", out var d) ? d : EmptyObject;
            lock (_eventGate)
            {
                _events.Add(new QmpEvent(name.GetString() ?? "", data, receivedAt, EmittedAt(root)));
                if (_events.Count > KeptEvents)
                {
                    _events.RemoveAt(0);
                }
                _eventArrived.TrySetResult();
                _eventArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            return;
        }
        // Replies without our numeric id (none expected) are ignored rather than misattributed.
        if (!root.TryGetProperty("id", out var idElement) || !idElement.TryGetInt64(out var id) || !_pending.TryGetValue(id, out var reply))
        {
            return;
        }
        if (root.TryGetProperty("error", out var error))
        {
            reply.TrySetException(new QmpException(error.TryGetProperty("desc", out var desc) ? desc.GetString() ?? "error" : error.ToString())
            {
                ErrorClass = error.TryGetProperty("class", out var cls) ? cls.GetString() : null,
            });
        }
        else
        {
            reply.TrySetResult(root.TryGetProperty("return", out var ret) ? ret : default);
        }
    }

    private void Break(Exception cause)
    {
        lock (_eventGate)
        {
            _broken ??= cause;
            _eventArrived.TrySetResult();
        }
        foreach (var reply in _pending.Values)
        {
            reply.TrySetException(new QmpException($"QMP connection closed: {cause.Message}", cause));
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Not connected or already closed.
        }
        await _readLoop.ConfigureAwait(false);
        _reader.Dispose();
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
        _writeGate.Dispose();
    }
}
