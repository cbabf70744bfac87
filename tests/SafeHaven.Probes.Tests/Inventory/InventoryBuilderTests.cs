using SafeHaven.Probes.Inventory;
using SafeHaven.Probes.Proc;
using SafeHaven.Schemas;

namespace SafeHaven.Probes.Tests.Inventory;

public sealed class InventoryBuilderTests
{
    private static readonly ProbeOptions Options = new() { Datacenter = "dc1", HostId = "h1" };

    [Fact]
    public void Host_from_a_sysfs_tree()
    {
        string sys = Directory.CreateTempSubdirectory("sh-sys-").FullName;
        try
        {
            void Write(string rel, string text)
            {
                string path = Path.Combine(sys, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, text + "\n");
            }
            Write("devices/system/cpu/online", "0-3");
            foreach (var (cpu, sib) in new[] { (0, "0,2"), (1, "1,3"), (2, "0,2"), (3, "1,3") })
            {
                Write($"devices/system/cpu/cpu{cpu}/topology/thread_siblings_list", sib);
            }
            Write("devices/system/node/node0/cpulist", "0-1");
            Write("devices/system/node/node1/cpulist", "2-3");
            var tenants = TenantSelectors.Parse(new Dictionary<string, IList<string>> { ["acme"] = ["comm:nginx", "uid:33"] });

            var host = InventoryBuilder.Host(Options, HostTopology.Read(sys), tenants, new Dictionary<string, string> { ["cycles"] = "unsupported: no PMU" }, 7);

            Assert.Equal(("dc1/h1", "host", "0-3"), (host.entityId, host.kind, host.cpus));
            Assert.Equal("0,2;1,3", host.attributes["smtSiblings"]);
            Assert.Equal(("2", "0-1", "2-3"), (host.attributes["numaNodes"], host.attributes["numa.0"], host.attributes["numa.1"]));
            Assert.Equal("uid:33,comm:nginx", host.attributes["tenant.acme"]);
            Assert.Equal("unsupported: no PMU", host.counterStatus["cycles"]);
        }
        finally
        {
            Directory.Delete(sys, recursive: true);
        }
    }

    [Fact]
    public void Real_sysfs_has_cpus_and_siblings()
    {
        var t = HostTopology.Read();
        Assert.NotNull(t.OnlineCpus);
        Assert.NotEmpty(t.SmtSiblings);
        Assert.Equal(Environment.ProcessorCount, t.SmtSiblings.Sum(s => SafeHaven.Core.CpuList.Parse(s).Count));
    }

    [Fact]
    public void Kinds_and_levels_follow_what_the_process_is()
    {
        var tenants = TenantSelectors.Parse(new Dictionary<string, IList<string>> { ["acme"] = ["vm:guest1"] });
        EntityState State(string? container, string? vm, QemuGuest? guest = null) => InventoryBuilder.Process(Options,
            new ProcessFacts(new DiscoveredProcess(new ProcessIdentity(42, "c", 9, container) { Vm = vm }, "/system.slice/x.service", "x.service", guest), 33, "1"),
            tenants, 5);

        var plain = State(null, null);
        Assert.Equal(("dc1/h1/pid/42", "process", "1", (string?)null), (plain.entityId, plain.kind, plain.cpus, plain.tenant));
        Assert.Equal(["core"], plain.levels);
        Assert.Equal(("33", "x.service", "/system.slice/x.service"), (plain.attributes["uid"], plain.attributes["unit"], plain.attributes["cgroup"]));

        Assert.Equal(["core", "container"], State("abcdef012345", null).levels);

        var vm = State(null, "guest1", new QemuGuest("guest1", "5f1c3a52-8e0b-4c1e-9a3a-0d3f7a2b1c4d", null));
        Assert.Equal(("vm", "guest1", "acme"), (vm.kind, vm.entity.vm, vm.tenant));
        Assert.Equal(["core", "vm"], vm.levels);
        Assert.Equal("5f1c3a52-8e0b-4c1e-9a3a-0d3f7a2b1c4d", vm.attributes["vm.uuid"]);

        var unnamed = State(null, null, new QemuGuest(null, null, "qemu without -name"));
        Assert.Equal(("process", "qemu without -name"), (unnamed.kind, unnamed.attributes["vm.note"]));
    }

    [Fact]
    public void A_process_no_tenant_or_container_claims_is_grouped_by_its_process_group()
    {
        var tenants = TenantSelectors.Parse(new Dictionary<string, IList<string>> { ["acme"] = ["comm:nginx"] });
        EntityState State(string comm, string? container, int? pgrp) => InventoryBuilder.Process(Options,
            new ProcessFacts(new DiscoveredProcess(new ProcessIdentity(42, comm, 9, container), null, null, null), 1000, "0", pgrp), tenants, 5);

        Assert.Equal("pgid:4240", State("bash", null, 4240).attributes[InventoryBuilder.GroupAttribute]);
        // A tenant or a container already names the group.
        Assert.DoesNotContain(InventoryBuilder.GroupAttribute, State("nginx", null, 4240).attributes.Keys);
        Assert.DoesNotContain(InventoryBuilder.GroupAttribute, State("bash", "abcdef012345", 4240).attributes.Keys);
        // Unknown, or outside the probe's pid namespace (0): no group rather than a wrong one.
        Assert.DoesNotContain(InventoryBuilder.GroupAttribute, State("bash", null, null).attributes.Keys);
        Assert.DoesNotContain(InventoryBuilder.GroupAttribute, State("bash", null, 0).attributes.Keys);
    }

    [Fact]
    public async Task A_shell_and_the_child_it_forked_share_a_group()
    {
        using var parent = ChildProcess.Start("/bin/bash", "-c", "read x; sleep 30 & wait");
        parent.Signal("go");
        int child = 0;
        await Poll.Require(() => (child = Perf.OwnThreadsTests.ChildPids(parent.Pid).FirstOrDefault()) != 0, "the forked child");

        string? Group(int pid) => InventoryBuilder.Process(Options,
            ProcessFacts.Read(new DiscoveredProcess(ProcFs.Default.ReadIdentity(pid)! with { Container = null }, null, null, null), ProcFs.Default),
            TenantSelectors.Empty, 5).attributes.TryGetValue(InventoryBuilder.GroupAttribute, out string? g) ? g : null;

        string? group = Group(parent.Pid);
        Assert.Matches("^pgid:[0-9]+$", group);
        Assert.Equal(group, Group(child));
    }
}
