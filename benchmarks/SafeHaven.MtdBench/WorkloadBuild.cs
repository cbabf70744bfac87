using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace SafeHaven.MtdBench;

/// <summary>Builds the workload binary (static, so it runs as a guest's /init too) and the guest's initramfs.</summary>
internal static class WorkloadBuild
{
    /// <summary>Compiles workload/mtd-load.c into <paramref name="dir"/> with gcc.</summary>
    public static string Compile(string dir)
    {
        var source = Path.Join(AppContext.BaseDirectory, "workload", "mtd-load.c");
        var binary = Path.Join(dir, "mtd-load");
        var psi = new ProcessStartInfo("gcc") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-O2", "-static", "-o", binary, source })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("gcc did not start");
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? binary : throw new InvalidOperationException($"gcc failed ({p.ExitCode}): {err}");
    }

    /// <summary>
    /// The test guest's initramfs with a second archive appended whose /init is the workload: the kernel unpacks
    /// concatenated archives in order, so the later /init replaces the heartbeat script.
    /// </summary>
    public static string Initrd(string baseInitrd, string binary, string dir)
    {
        var path = Path.Join(dir, "initrd-mtd.gz");
        using var output = File.Create(path);
        using (var b = File.OpenRead(baseInitrd))
        {
            b.CopyTo(output);
        }
        using var gz = new GZipStream(output, CompressionLevel.Fastest);
        Entry(gz, "init", 0x81ED, File.ReadAllBytes(binary), 2);
        Entry(gz, "TRAILER!!!", 0, [], 3);
        return path;
    }

    /// <summary>One cpio "newc" entry: 110-byte ASCII header, name, data, each padded to 4 bytes.</summary>
    private static void Entry(Stream s, string name, int mode, byte[] data, int ino)
    {
        var header = new StringBuilder("070701");
        foreach (var field in new[] { ino, mode, 0, 0, 1, 0, data.Length, 0, 0, 0, 0, name.Length + 1, 0 })
        {
            header.Append(field.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
        }
        var head = Encoding.ASCII.GetBytes(header.Append(name).Append('\0').ToString());
        s.Write(head);
        s.Write(new byte[(4 - (head.Length % 4)) % 4]);
        s.Write(data);
        s.Write(new byte[(4 - (data.Length % 4)) % 4]);
    }
}
