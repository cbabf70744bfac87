using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace SafeHaven.StreamProcessors.Tests.Siem;

/// <summary>Debian's Python (not a pyenv shim on PATH) running the validator and consumer scripts beside this file.</summary>
internal static class SiemPython
{
    public const string Python = "/usr/bin/python3";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>This folder in the source tree, where the scripts and the schema subset live.</summary>
    public static string Folder([CallerFilePath] string sourceFile = "")
    {
        var near = Path.GetDirectoryName(sourceFile) ?? "";
        if (File.Exists(Path.Combine(near, "validate_siem.py")))
        {
            return near;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "SafeHaven.StreamProcessors.Tests", "Siem");
            if (File.Exists(Path.Combine(candidate, "validate_siem.py")))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException("validate_siem.py not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Why <see cref="Python"/> cannot import <paramref name="module"/>, or null when it can.</summary>
    public static async Task<string?> Missing(string module, string package)
    {
        if (!File.Exists(Python))
        {
            return $"{Python} is missing (apt-get install python3)";
        }
        var (exit, _, stderr) = await Run(["-c", "import " + module], null);
        return exit == 0 ? null : $"{Python} cannot import {module} (apt-get install {package}): {stderr.Trim()}";
    }

    /// <summary>Runs a script of <see cref="Folder"/> with <paramref name="args"/>, feeding <paramref name="stdin"/>.</summary>
    public static async Task<(int Exit, string Stdout, string Stderr)> Run(IEnumerable<string> args, string? stdin)
    {
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
            WorkingDirectory = Folder(),
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Python}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(stdin ?? "");
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} {string.Join(' ', start.ArgumentList)} did not finish within {Timeout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
