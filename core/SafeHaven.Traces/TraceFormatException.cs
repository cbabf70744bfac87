namespace SafeHaven.Traces;

/// <summary>
/// A file is not a readable trace: truncated, corrupt, or written with another schema or an unsupported codec. The
/// message says what is wrong and where (byte offset, block, record); the CLI maps it to exit code 2.
/// </summary>
public sealed class TraceFormatException(string message, Exception? inner = null) : Exception(message, inner);
