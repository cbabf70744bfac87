using System.Globalization;
using System.Text.RegularExpressions;
using SafeHaven.Core;

namespace SafeHaven.Actuators.Host.Cpu;

/// <summary>
/// The layout and path handling shared by the cgroup v1 and v2 cpuset controllers. Paths are
/// joined only from the validated root, a parent name matching the token pattern, and child
/// names formatted from integers.
/// </summary>
public abstract partial class CgroupCpuset : ICpusetController
{
    private readonly Lock _gate = new();
    private bool _parentReady;

    /// <summary>Validates the root and parent name.</summary>
    /// <exception cref="ArgumentException">The root is not an absolute normalised path or the name is not a token.</exception>
    private protected CgroupCpuset(string root, string parentName)
    {
        ArgumentNullException.ThrowIfNull(root);
        var trimmed = root.Length > 1 ? root.TrimEnd('/') : root;
        if (!Path.IsPathFullyQualified(trimmed) || Path.GetFullPath(trimmed) != trimmed)
        {
            throw new ArgumentException($"cgroup root '{root}' is not an absolute, normalised path", nameof(root));
        }
        Root = trimmed;
        ParentPath = Path.Join(Root, Identifiers.RequireToken(parentName, nameof(parentName)));
    }

    /// <inheritdoc/>
    public abstract string Kind { get; }

    /// <summary>Mount point (or root directory) of the hierarchy that holds the cpuset controller.</summary>
    public string Root { get; }

    /// <inheritdoc/>
    public string ParentPath { get; }

    /// <inheritdoc/>
    public bool IsEnrolled(int pid) => ProcFs.Default.Exists(pid) && Directory.Exists(ChildPath(pid, ProcFs.Default.StartTime(pid)));

    /// <inheritdoc/>
    public void Enrol(int pid, CpuList cpus)
    {
        Identifiers.RequirePid(pid, nameof(pid));
        RequireCpus(cpus);
        var start = ProcFs.Default.StartTime(pid);
        EnsureParent();
        DropStale(pid, keepStartTime: start);
        var child = ChildPath(pid, start);
        CgroupFile.MakeDirectory(child);
        try
        {
            CgroupFile.Write(Path.Join(child, "cpuset.cpus"), cpus.ToString());
            CgroupFile.Write(Path.Join(child, "cpuset.mems"), CgroupFile.Read(Path.Join(ParentPath, "cpuset.mems")));
            MoveProcess(pid, child);
        }
        catch (ProcessGoneException)
        {
            TryRemoveEmpty(child);
            throw;
        }
    }

    /// <inheritdoc/>
    public void SetCpus(int pid, CpuList cpus, bool exclusive = false)
    {
        RequireCpus(cpus);
        var child = ExistingChild(pid) ?? throw new InvalidOperationException($"process {pid} is not enrolled in {ParentPath}");
        WriteCpus(child, cpus, exclusive);
    }

    /// <inheritdoc/>
    public CpuList? ReadCpus(int pid) =>
        ExistingChild(pid) is { } child ? CpuList.Parse(CgroupFile.Read(Path.Join(child, "cpuset.cpus"))) : null;

    /// <inheritdoc/>
    public void SetMems(int pid, CpuList? mems)
    {
        var child = ExistingChild(pid) ?? throw new InvalidOperationException($"process {pid} is not enrolled in {ParentPath}");
        if (mems is { IsEmpty: true })
        {
            throw new ArgumentException("a workload cpuset needs at least one memory node", nameof(mems));
        }
        WriteMems(child, mems?.ToString() ?? CgroupFile.Read(Path.Join(ParentPath, "cpuset.mems")));
    }

    /// <inheritdoc/>
    public CpuList? ReadMems(int pid) =>
        ExistingChild(pid) is { } child ? CpuList.Parse(CgroupFile.Read(Path.Join(child, "cpuset.mems"))) : null;

    /// <inheritdoc/>
    public void Remove(int pid)
    {
        Identifiers.RequirePid(pid, nameof(pid));
        if (ExistingChild(pid) is { } child)
        {
            MoveAll(child, ParentPath);
            TryRemoveEmpty(child);
        }
        DropStale(pid, keepStartTime: null);
    }

    /// <inheritdoc/>
    public void Cleanup()
    {
        if (!Directory.Exists(ParentPath))
        {
            return;
        }
        foreach (var child in Directory.EnumerateDirectories(ParentPath))
        {
            // Only our own children: anything else someone made there is not ours to move.
            if (ChildName().IsMatch(Path.GetFileName(child)))
            {
                MoveAll(child, Root);
                CgroupFile.RemoveDirectory(child);
            }
        }
        MoveAll(ParentPath, Root);
        CgroupFile.RemoveDirectory(ParentPath);
        lock (_gate)
        {
            _parentReady = false;
        }
    }

    /// <summary>Creates the SafeHaven parent with every online CPU and the root's memory nodes.</summary>
    protected void EnsureParent()
    {
        lock (_gate)
        {
            if (_parentReady)
            {
                return;
            }
            PrepareRoot();
            CgroupFile.MakeDirectory(ParentPath);
            CgroupFile.Write(Path.Join(ParentPath, "cpuset.cpus"), OnlineCpus.Read().ToString());
            CgroupFile.Write(Path.Join(ParentPath, "cpuset.mems"), RootMems());
            PrepareParent();
            _parentReady = true;
        }
    }

    /// <summary>Hierarchy-specific set-up of the root before the parent is created.</summary>
    private protected virtual void PrepareRoot() { }

    /// <summary>Hierarchy-specific set-up of the parent once it exists.</summary>
    private protected virtual void PrepareParent() { }

    /// <summary>The memory nodes the root offers.</summary>
    private protected abstract string RootMems();

    /// <summary>Moves every thread of <paramref name="pid"/> into <paramref name="cgroup"/>.</summary>
    private protected abstract void MoveProcess(int pid, string cgroup);

    /// <summary>Moves every task of <paramref name="from"/> into <paramref name="to"/>; tasks exiting meanwhile are fine.</summary>
    private protected abstract void MoveAll(string from, string to);

    /// <summary>Writes the CPUs of a workload cpuset.</summary>
    private protected virtual void WriteCpus(string child, CpuList cpus, bool exclusive) =>
        CgroupFile.Write(Path.Join(child, "cpuset.cpus"), cpus.ToString());

    /// <summary>Writes the memory nodes of a workload cpuset.</summary>
    private protected virtual void WriteMems(string child, string mems) =>
        CgroupFile.Write(Path.Join(child, "cpuset.mems"), mems);

    private string ChildPath(int pid, long startTime) =>
        Path.Join(ParentPath, string.Create(CultureInfo.InvariantCulture, $"w{Identifiers.RequirePid(pid, nameof(pid))}-{startTime}"));

    private string? ExistingChild(int pid)
    {
        Identifiers.RequirePid(pid, nameof(pid));
        if (!ProcFs.Default.Exists(pid))
        {
            return null;
        }
        var child = ChildPath(pid, ProcFs.Default.StartTime(pid));
        return Directory.Exists(child) ? child : null;
    }

    // Cpusets of earlier processes that had this pid: empty now, since their tasks are gone.
    private void DropStale(int pid, long? keepStartTime)
    {
        if (!Directory.Exists(ParentPath))
        {
            return;
        }
        foreach (var dir in Directory.EnumerateDirectories(ParentPath, string.Create(CultureInfo.InvariantCulture, $"w{pid}-*")))
        {
            var m = ChildName().Match(Path.GetFileName(dir));
            if (m.Success && m.Groups[1].Value == pid.ToString(CultureInfo.InvariantCulture)
                && (keepStartTime is not { } keep || m.Groups[2].Value != keep.ToString(CultureInfo.InvariantCulture)))
            {
                TryRemoveEmpty(dir);
            }
        }
    }

    private static void TryRemoveEmpty(string dir)
    {
        try
        {
            CgroupFile.RemoveDirectory(dir);
        }
        catch (CgroupException e) when (e.Errno == Errno.EBUSY)
        {
            // Still has tasks (a zombie not yet reaped): the next Enrol or Cleanup takes it.
        }
    }

    private static void RequireCpus(CpuList cpus)
    {
        ArgumentNullException.ThrowIfNull(cpus);
        if (cpus.IsEmpty)
        {
            throw new ArgumentException("a workload cpuset needs at least one CPU", nameof(cpus));
        }
    }

    [GeneratedRegex("^w([1-9][0-9]{0,6})-([0-9]{1,20})\\z", RegexOptions.CultureInvariant)]
    private static partial Regex ChildName();
}
