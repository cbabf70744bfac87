namespace SafeHaven.Probes.Tests.Proc;

/// <summary>A throw-away /proc-like tree: stat, cgroup, status, cmdline and exe link per pid.</summary>
public sealed class FakeProc : IDisposable
{
    public FakeProc() => Root = Directory.CreateTempSubdirectory("sh-proc-").FullName;

    public string Root { get; }

    public FakeProc Add(int pid, string comm, string cgroup = "0::/user.slice\n", uint uid = 1000, string[]? argv = null,
        string? exe = null, string cpus = "0-1", bool kernelThread = false)
    {
        string dir = Path.Combine(Root, $"{pid}");
        Directory.CreateDirectory(dir);
        uint flags = kernelThread ? 0x00208040u : 0x00400100u;
        File.WriteAllText(Path.Combine(dir, "stat"), $"{pid} ({comm}) S 1 1 1 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 1 0 {pid * 10} 0 0");
        File.WriteAllText(Path.Combine(dir, "cgroup"), cgroup);
        File.WriteAllText(Path.Combine(dir, "status"), $"Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nCpus_allowed_list:\t{cpus}\n");
        argv ??= ["/usr/bin/" + comm];
        File.WriteAllText(Path.Combine(dir, "cmdline"), string.Concat(argv.Select(a => a + "\0")));
        // Like the kernel's link, it need not resolve: only its text is read.
        File.CreateSymbolicLink(Path.Combine(dir, "exe"), exe ?? argv[0]);
        return this;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
