using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using SafeHaven.Actuators.Vm;

namespace SafeHaven.Actuators.Tests.Vm;

/// <summary>The QMP client against a scripted fake QEMU on a unix socket.</summary>
public sealed class QmpClientTests : IDisposable
{
    private readonly string _dir = Path.Join("/tmp", "shqmp-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly CancellationTokenSource _deadline = new(TimeSpan.FromSeconds(20));

    public QmpClientTests() => Directory.CreateDirectory(_dir);

    private string Sock => Path.Join(_dir, "fake.qmp");

    // Accepts one connection, sends the greeting, then hands the connection to the script.
    private Task Serve(Func<StreamReader, StreamWriter, Task> script)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(Sock));
        listener.Listen(1);
        return Task.Run(async () =>
        {
            using (listener)
            using (var conn = await listener.AcceptAsync(_deadline.Token))
            using (var stream = new NetworkStream(conn, ownsSocket: false))
            using (var reader = new StreamReader(stream, Encoding.UTF8))
            using (var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" })
            {
                await writer.WriteLineAsync("""{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}""");
                var caps = JsonNode.Parse((await reader.ReadLineAsync(_deadline.Token))!)!;
                Assert.Equal("qmp_capabilities", (string?)caps["execute"]);
                await writer.WriteLineAsync($$"""{"return": {}, "id": {{caps["id"]!.ToJsonString()}}}""");
                await script(reader, writer);
            }
        });
    }

    [Fact]
    public async Task Replies_are_matched_by_id_even_out_of_order_and_errors_become_exceptions()
    {
        var server = Serve(async (reader, writer) =>
        {
            var first = JsonNode.Parse((await reader.ReadLineAsync(_deadline.Token))!)!;
            var second = JsonNode.Parse((await reader.ReadLineAsync(_deadline.Token))!)!;
            Assert.Equal("query-status", (string?)first["execute"]);
            Assert.Equal(64, (int?)second["arguments"]!["value"]);
            // Answer the second first, with an event in between: each caller still gets its own reply.
            await writer.WriteLineAsync($$"""{"error": {"class": "GenericError", "desc": "no such thing"}, "id": {{second["id"]!.ToJsonString()}}}""");
            await writer.WriteLineAsync("""{"event": "STOP", "data": {}, "timestamp": {"seconds": 1, "microseconds": 2}}""");
            await writer.WriteLineAsync($$"""{"return": {"status": "running", "running": true}, "id": {{first["id"]!.ToJsonString()}}}""");
            await reader.ReadLineAsync(_deadline.Token);
        });
        await using var client = await QmpClient.ConnectAsync(Sock, null, _deadline.Token);
        var status = client.ExecuteAsync("query-status", null, _deadline.Token);
        var failing = client.ExecuteAsync("balloon", new JsonObject { ["value"] = 64 }, _deadline.Token);

        var ex = await Assert.ThrowsAsync<QmpException>(() => failing);
        Assert.Equal("GenericError", ex.ErrorClass);
        Assert.Contains("no such thing", ex.Message, StringComparison.Ordinal);
        Assert.Equal("running", (await status).GetProperty("status").GetString());
        Assert.Equal("STOP", Assert.Single(client.Events).Name);
        await client.DisposeAsync();
        await server.WaitAsync(_deadline.Token);
    }

    [Fact]
    public async Task Events_carry_receive_times_and_can_be_awaited_before_or_after_they_arrive()
    {
        var send = new TaskCompletionSource();
        var server = Serve(async (reader, writer) =>
        {
            await writer.WriteLineAsync("""{"event": "MIGRATION", "data": {"status": "setup"}, "timestamp": {"seconds": 1, "microseconds": 0}}""");
            await send.Task.WaitAsync(_deadline.Token);
            await writer.WriteLineAsync("""{"event": "MIGRATION_PASS", "data": {"pass": 2}, "timestamp": {"seconds": 1, "microseconds": 5}}""");
            await writer.WriteLineAsync("""{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 9}}""");
            await reader.ReadLineAsync(_deadline.Token);
        });
        await using var client = await QmpClient.ConnectAsync(Sock, null, _deadline.Token);
        var setup = await client.WaitForEventAsync(e => e.Name == "MIGRATION", 0, _deadline.Token);
        Assert.Equal("setup", setup.DataString("status"));
        var resume = client.WaitForEventAsync(e => e.Name == "RESUME", setup.ReceivedAt, _deadline.Token);
        Assert.False(resume.IsCompleted);
        send.SetResult();
        var resumed = await resume;
        var pass = client.Events.Single(e => e.Name == "MIGRATION_PASS");
        Assert.True(setup.ReceivedAt <= pass.ReceivedAt && pass.ReceivedAt <= resumed.ReceivedAt);
        Assert.Equal(2, pass.Data.GetProperty("pass").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Object, resumed.Data.ValueKind);
        await client.DisposeAsync();
        await server.WaitAsync(_deadline.Token);
    }

    [Fact]
    public async Task A_closed_connection_fails_pending_commands_and_waits()
    {
        var server = Serve(async (reader, _) => await reader.ReadLineAsync(_deadline.Token));
        await using var client = await QmpClient.ConnectAsync(Sock, null, _deadline.Token);
        var pending = client.ExecuteAsync("query-migrate", null, _deadline.Token);
        await server.WaitAsync(_deadline.Token);
        await Assert.ThrowsAsync<QmpException>(() => pending);
        await Assert.ThrowsAsync<QmpException>(() => client.WaitForEventAsync(e => e.Name == "STOP", 0, _deadline.Token));
    }

    [Fact]
    public async Task No_greeting_is_an_error()
    {
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(Sock));
        listener.Listen(1);
        var server = Task.Run(async () =>
        {
            using var conn = await listener.AcceptAsync(_deadline.Token);
            await conn.SendAsync("{\"hello\": 1}\n"u8.ToArray(), SocketFlags.None, _deadline.Token);
        });
        await Assert.ThrowsAsync<QmpException>(() => QmpClient.ConnectAsync(Sock, null, _deadline.Token));
        await server;
    }

    public void Dispose()
    {
        _deadline.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
