namespace SafeHaven.Cli;

/// <summary>Exit codes of every verb (docs/DESIGN.md §6).</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>Runtime failure.</summary>
    public const int Failure = 1;
    /// <summary>Bad usage or bad input.</summary>
    public const int BadUsage = 2;
}

/// <summary>Bad usage or bad input: the message names what is wrong; the CLI exits 2.</summary>
internal sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner);
