namespace SafeHaven.Evaluation;

/// <summary>What a labelled process is.</summary>
public enum LabelKind
{
    /// <summary>An ordinary process: any detection of it is a false positive.</summary>
    Benign,

    /// <summary>A side- or covert-channel process: it should be detected after its onset.</summary>
    Channel,
}

/// <summary>One line of a labels file: the ground truth for one process of a trace.</summary>
/// <param name="Host">Host id, as in the samples' <c>host</c>.</param>
/// <param name="Pid">Process id on that host.</param>
/// <param name="Kind">Benign or channel.</param>
/// <param name="OnsetNs">When the channel started, Unix epoch ns (0 for a benign process).</param>
/// <param name="Line">Line of the label in its file, for messages.</param>
public sealed record ProcessLabel(string Host, int Pid, LabelKind Kind, long OnsetNs, int Line = 0);

/// <summary>A labels file is not valid; the message names file, line and problem.</summary>
public sealed class LabelsFormatException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/>:<paramref name="line"/>.</summary>
    public LabelsFormatException(string file, int line, string problem)
        : base($"{file}:{line}: {problem}")
    {
        File = file;
        LineNumber = line;
    }

    /// <summary>The labels file.</summary>
    public string File { get; }

    /// <summary>1-based line of the problem.</summary>
    public int LineNumber { get; }
}
