using System.Diagnostics;
using System.Globalization;

namespace SafeHaven.Actuators.Vm;

/// <summary>
/// A plain QEMU process running (or, with <c>-incoming defer</c>, waiting to receive) a guest under TCG, with
/// its QMP socket and serial output file in one directory. Started from an argument list, never a shell.
/// </summary>
public sealed class QemuGuest : IDisposable
{
    private readonly Process _process;
    private readonly StringWriter _stderr = new(CultureInfo.InvariantCulture);

    private QemuGuest(QemuGuestSpec spec, string directory, Process process)
    {
        Spec = spec;
        Directory = directory;
        _process = process;
        QmpSocket = QemuPaths.In(directory, spec.Name, ".qmp");
        SerialPath = QemuPaths.In(directory, spec.Name, ".serial");
    }

    /// <summary>Suffix of an incoming twin's second QMP socket, the one the source agent uses.</summary>
    public const string PeerSuffix = ".peer.qmp";

    /// <summary>The QEMU binary started; tests and agents may point it elsewhere.</summary>
    public static string Binary { get; set; } = "/usr/bin/qemu-system-x86_64";

    /// <summary>The guest's definition.</summary>
    public QemuGuestSpec Spec { get; }

    /// <summary>Where its sockets and files live.</summary>
    public string Directory { get; }

    /// <summary>Its QMP socket.</summary>
    public string QmpSocket { get; }

    /// <summary>The file its ttyS0 writes to.</summary>
    public string SerialPath { get; }

    /// <summary>The QEMU process id.</summary>
    public int Pid => _process.Id;

    /// <summary>True once the QEMU process ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What QEMU printed on stderr so far (errors explain a failed start).</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The argument list for <paramref name="spec"/> in <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> Arguments(QemuGuestSpec spec, string directory, bool incoming)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        List<string> args =
        [
            "-name", $"guest={spec.Name},debug-threads=on",
            "-machine", spec.Machine, "-accel", "tcg", "-cpu", "qemu64",
            "-m", spec.MemoryMb.ToString(CultureInfo.InvariantCulture),
            "-kernel", spec.Kernel, "-initrd", spec.Initrd, "-append", spec.Append,
            "-display", "none", "-nodefaults", "-no-user-config",
            "-serial", "file:" + QemuPaths.In(directory, spec.Name, ".serial"),
            "-qmp", $"unix:{QemuPaths.In(directory, spec.Name, ".qmp")},server=on,wait=off",
        ];
        if (incoming)
        {
            // A second monitor for the source agent, which drives the migration from its side; the
            // agent that started this twin keeps the first one to watch it.
            args.AddRange(["-qmp", $"unix:{QemuPaths.In(directory, spec.Name, PeerSuffix)},server=on,wait=off", "-incoming", "defer"]);
        }
        return args;
    }

    /// <summary>
    /// Starts QEMU for <paramref name="spec"/> in <paramref name="directory"/> (created 0700), removing stale
    /// socket and serial files of the same name first, and saves the spec beside them.
    /// </summary>
    public static QemuGuest Start(QemuGuestSpec spec, string directory, bool incoming = false)
    {
        var args = Arguments(spec, directory, incoming);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("QEMU guests are run on Linux only");
        }
        // Private: the QMP socket in it is full control over the guest.
        System.IO.Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var suffix in new[] { ".qmp", ".serial", ".mig", PeerSuffix })
        {
            File.Delete(QemuPaths.In(directory, spec.Name, suffix));
        }
        spec.Save(directory);
        var psi = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"{Binary} did not start");
        var guest = new QemuGuest(spec, directory, process);
        process.ErrorDataReceived += (_, e) =>
        {
            lock (guest._stderr)
            {
                guest._stderr.WriteLine(e.Data);
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return guest;
    }

    /// <summary>Waits (bounded by <paramref name="ct"/>) until the QMP socket accepts a connection, then connects.</summary>
    /// <exception cref="QmpException">QEMU exited first; its stderr is in the message.</exception>
    public async Task<QmpClient> ConnectQmpAsync(TimeProvider? time, CancellationToken ct)
    {
        while (true)
        {
            if (_process.HasExited)
            {
                throw new QmpException($"QEMU for '{Spec.Name}' exited with {_process.ExitCode}: {StandardError.Trim()}");
            }
            if (File.Exists(QmpSocket))
            {
                try
                {
                    return await QmpClient.ConnectAsync(QmpSocket, time, ct).ConfigureAwait(false);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // Socket file present but not listening yet.
                }
            }
            await Task.Delay(20, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the process to exit, bounded by <paramref name="ct"/>.</summary>
    public Task WaitForExitAsync(CancellationToken ct) => _process.WaitForExitAsync(ct);

    /// <summary>
    /// Lets go of the QEMU process without stopping it: the guest outlives this object (and the agent). QEMU
    /// ignores SIGPIPE, so the closed stdout/stderr pipes do not end it.
    /// </summary>
    public void Detach() => _process.Dispose();

    /// <summary>Kills QEMU (if still running) and reaps it.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
