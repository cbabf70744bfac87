using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace SafeHaven.Kafka.Topics;

/// <summary>
/// Asks a broker which APIs it serves (ApiVersions v0, plaintext). The Confluent clients do
/// not expose this, and without it a CreateTopics to librdkafka's mock cluster only fails
/// after the full request timeout ("waiting for controller") instead of saying why.
/// </summary>
internal static class KafkaApiProbe
{
    internal const short CreateTopicsKey = 19;
    private const short ApiVersionsKey = 18;
    private const int MaxResponseBytes = 1 << 20;

    /// <summary>API keys advertised by the first bootstrap broker that answers, or null if none does.</summary>
    internal static async Task<HashSet<short>?> TryGetApiKeysAsync(string bootstrapServers, TimeSpan timeout, CancellationToken ct)
    {
        foreach (var endpoint in bootstrapServers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!TryParse(endpoint, out var host, out var port))
            {
                continue;
            }

            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(timeout);
            try
            {
                return await AskAsync(host, port, cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidDataException
                                      || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                // TLS/SASL listeners or dead brokers: let the AdminClient find out on its own.
            }
        }

        return null;
    }

    private static async Task<HashSet<short>> AskAsync(string host, int port, CancellationToken ct)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(host, port, ct).ConfigureAwait(false);
        var stream = client.GetStream();

        var clientId = Encoding.UTF8.GetBytes("safehaven-probe");
        var request = new byte[4 + 2 + 2 + 4 + 2 + clientId.Length];
        BinaryPrimitives.WriteInt32BigEndian(request, request.Length - 4);
        BinaryPrimitives.WriteInt16BigEndian(request.AsSpan(4), ApiVersionsKey);
        BinaryPrimitives.WriteInt16BigEndian(request.AsSpan(6), 0);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(8), 1);
        BinaryPrimitives.WriteInt16BigEndian(request.AsSpan(12), (short)clientId.Length);
        clientId.CopyTo(request, 14);
        await stream.WriteAsync(request, ct).ConfigureAwait(false);

        var sizeBytes = new byte[4];
        await stream.ReadExactlyAsync(sizeBytes, ct).ConfigureAwait(false);
        var size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
        if (size is < 10 or > MaxResponseBytes)
        {
            throw new InvalidDataException($"ApiVersions response of {size} bytes");
        }

        var body = new byte[size];
        await stream.ReadExactlyAsync(body, ct).ConfigureAwait(false);
        // correlation id (4), error code (2), array count (4), then (key, min, max) int16 triples.
        var error = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(4));
        var count = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(6));
        if (error != 0 || count < 0 || 10 + (count * 6) > size)
        {
            throw new InvalidDataException($"ApiVersions error {error}, {count} entries");
        }

        return Enumerable.Range(0, count).Select(i => BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(10 + (i * 6)))).ToHashSet();
    }

    private static bool TryParse(string endpoint, out string host, out int port)
    {
        var scheme = endpoint.IndexOf("://", StringComparison.Ordinal);
        var hostPort = scheme >= 0 ? endpoint[(scheme + 3)..] : endpoint;
        var colon = hostPort.LastIndexOf(':');
        host = colon > 0 ? hostPort[..colon].Trim('[', ']') : string.Empty;
        port = 0;
        return colon > 0 && int.TryParse(hostPort[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port);
    }
}
