using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace SafeHaven.Traces.Tests;

/// <summary>Debian's Python (/usr/bin/python3, not a pyenv shim on PATH) running read_trace.py beside this file.</summary>
internal static class PythonAvro
{
    public const string Python = "/usr/bin/python3";

    public static string Folder([CallerFilePath] string sourceFile = "") => Path.GetDirectoryName(sourceFile)!;

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(Folder());
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SafeHaven.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Why <see cref="Python"/> cannot import <paramref name="module"/>, or null when it can.</summary>
    public static string? Missing(string module, string package)
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is missing (apt-get install python3)";
        }
        var (exit, _, stderr) = Run(["-c", "import " + module]);
        return exit == 0 ? null : $"{Python} cannot import {module} (apt-get install {package}): {stderr.Trim()}";
    }

    public static (int Exit, string Stdout, string Stderr) Run(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Folder() };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} {string.Join(' ', start.ArgumentList)} did not finish in 120 s");
        }
        return (process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    /// <summary>read_trace.py over <paramref name="trace"/> with the repository's schemas/.</summary>
    public static (int Exit, string Stdout, string Stderr) ReadTrace(string trace) =>
        Run([Path.Combine(Folder(), "read_trace.py"), trace, Path.Combine(RepoRoot(), "schemas")]);
}
