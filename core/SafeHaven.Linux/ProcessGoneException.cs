namespace SafeHaven.Linux;

/// <summary>The process (not merely one of its threads) no longer exists.</summary>
public sealed class ProcessGoneException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ProcessGoneException() { }

    /// <summary>Creates the exception with a message.</summary>
    public ProcessGoneException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error behind it.</summary>
    public ProcessGoneException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception for <paramref name="pid"/>.</summary>
    public ProcessGoneException(int pid) : base($"process {pid} does not exist (any more)") => Pid = pid;

    /// <summary>The pid that vanished, or 0 when unknown.</summary>
    public int Pid { get; }
}
