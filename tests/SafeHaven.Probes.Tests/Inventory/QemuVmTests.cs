using System.Collections.Concurrent;
using SafeHaven.Probes.Inventory;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests.Inventory;

/// <summary>A real, paused QEMU process (no guest code runs) recognised as a VM entity.</summary>
public sealed class QemuVmTests
{
    private const string Qemu = "/usr/bin/qemu-system-x86_64";

    private sealed class ListSink : ISampleSink
    {
        public ConcurrentQueue<CounterSample> Samples { get; } = new();

        public void Publish(CounterSample sample) => Samples.Enqueue(sample);
    }

    /// <summary>Starts <c>qemu-system-x86_64 -name guest=NAME,debug-threads=on -uuid UUID -machine none -S</c> (argv, no shell).</summary>
    internal static async Task<ChildProcess> StartPausedGuest(string name, Guid uuid)
    {
        Skip.IfNot(File.Exists(Qemu), $"{Qemu} is absent: apt-get install -y qemu-system-x86");
        var qemu = ChildProcess.Start(Qemu, "-name", $"guest={name},debug-threads=on", "-uuid", uuid.ToString("D"),
            "-machine", "none", "-nodefaults", "-display", "none", "-S");
        // The child may still be between fork and exec for a moment; comm changes before argv is in place.
        await Poll.Require(() => ProcFs.Default.ReadStat(qemu.Pid)?.Comm == "qemu-system-x86"
            && File.ReadAllBytes($"/proc/{qemu.Pid}/cmdline").Length > 0, "qemu to exec");
        return qemu;
    }

    [SkippableFact]
    public async Task Qemu_process_is_a_vm_entity_in_samples_and_inventory()
    {
        string name = "shtest-" + Guid.NewGuid().ToString("N");
        var uuid = Guid.NewGuid();
        using var qemu = await StartPausedGuest(name, uuid);
        var options = new ProbeOptions
        {
            Datacenter = "dc1",
            HostId = "h1",
            Period = TimeSpan.FromMilliseconds(1),
            Counters = ["proc:voluntary_ctxt_switches"],
            Comms = ["qemu-system-x86"],
        };

        // Discovery over the whole of /proc (comm filter only) finds the guest by its command line.
        var found = Assert.Single(new ProcessDiscovery(DiscoveryFilter.From(options)).DiscoverDetailed(), p => p.Identity.Pid == qemu.Pid);
        Assert.Equal(name, found.Identity.Vm);
        Assert.Equal(new QemuGuest(name, uuid.ToString("D"), null) { MemoryMiB = 128 }, found.Vm);

        // The sampler's samples carry the VM in their EntityRef.
        var sink = new ListSink();
        using (var sampler = new Sampler(options, TimeProvider.System, sink))
        {
            await Poll.Require(() =>
            {
                sampler.SampleOnce();
                return sink.Samples.Any(s => s.entity.pid == qemu.Pid);
            }, "a sample of the qemu process");
            Assert.Equal(name, sink.Samples.First(s => s.entity.pid == qemu.Pid).entity.vm);
            Assert.Contains(sampler.Discovered, p => p.Identity.Pid == qemu.Pid && p.Identity.Vm == name);
        }

        // Its inventory entry is of kind vm, movable at core and VM level.
        var state = InventoryBuilder.Process(options, ProcessFacts.Read(found, ProcFs.Default), TenantSelectors.Empty, 1);
        Assert.Equal(("vm", $"dc1/h1/pid/{qemu.Pid}", name), (state.kind, state.entityId, state.entity.vm));
        Assert.Equal(["core", "vm"], state.levels);
        Assert.Equal(uuid.ToString("D"), state.attributes["vm.uuid"]);
        Assert.False(string.IsNullOrEmpty(state.cpus));
    }

    [SkippableFact]
    public async Task Qemu_with_an_invalid_name_is_a_process_with_a_note()
    {
        Skip.IfNot(File.Exists(Qemu), $"{Qemu} is absent: apt-get install -y qemu-system-x86");
        // QEMU accepts any name; ours is refused before it can reach a key or a migration command.
        using var qemu = ChildProcess.Start(Qemu, "-name", "guest=bad name;x,debug-threads=on", "-machine", "none", "-nodefaults", "-display", "none", "-S");
        // comm changes before argv is in place (cmdline reads empty meanwhile), so wait for argv too.
        await Poll.Require(() => ProcFs.Default.ReadStat(qemu.Pid)?.Comm == "qemu-system-x86"
            && File.ReadAllBytes($"/proc/{qemu.Pid}/cmdline").Length > 0, "qemu to exec");

        var found = Assert.Single(new ProcessDiscovery(pids: [qemu.Pid]).DiscoverDetailed());
        Assert.Null(found.Identity.Vm);
        Assert.Contains("not a valid identifier", found.Vm!.Note, StringComparison.Ordinal);
        var state = InventoryBuilder.Process(new ProbeOptions(), ProcessFacts.Read(found, ProcFs.Default), TenantSelectors.Empty, 1);
        Assert.Equal("process", state.kind);
    }
}
