using SafeHaven.Actuators.Vm;

namespace SafeHaven.Cli.Demo;

internal static partial class VmDemo
{
    /// <summary>
    /// The two agents' directories under one private root, the guest at the source agent and, with the libvirt backend,
    /// the two daemons. Disposing ends the source guest and the daemons and removes the root (the received guest belongs
    /// to hv-b's service and dies with the host).
    /// </summary>
    private sealed class VmLab : IDisposable
    {
        public VmLab()
        {
            // Short and private: unix socket paths must stay under 108 bytes, and a QMP socket is full control of a guest.
            Root = Path.Join("/tmp", "shvm-demo-" + Guid.NewGuid().ToString("N")[..8]);
            Dirs = new Dictionary<string, string>(StringComparer.Ordinal) { [SourceAgent] = Path.Join(Root, "a"), [TargetAgent] = Path.Join(Root, "b") };
        }

        public string Root { get; }

        public Dictionary<string, string> Dirs { get; }

        public DemoGuest? Guest { get; private set; }

        public LibvirtPair? Daemons { get; private set; }

        /// <summary>Starts the guest at the source agent: plain QEMU, or a domain of the source's libvirt daemon.</summary>
        public async Task<DemoGuest> StartGuestAsync((string Kernel, string Initrd) image, string backend, CancellationToken ct)
        {
            var spec = new QemuGuestSpec { Name = GuestName, MemoryMb = MemoryMb, Kernel = image.Kernel, Initrd = image.Initrd };
            if (backend == VmBackends.Libvirt)
            {
                Daemons = await LibvirtPair.StartAsync(Root, Dirs.Keys, ct).ConfigureAwait(false);
                Guest = await DemoGuest.StartLibvirtAsync(spec, Dirs[SourceAgent], Daemons.Uris[SourceAgent], Daemons.PidNamespaces[SourceAgent], ct).ConfigureAwait(false);
            }
            else
            {
                Guest = DemoGuest.StartQemu(spec, Dirs[SourceAgent]);
            }
            return Guest;
        }

        public void Dispose()
        {
            Guest?.Dispose();
            Daemons?.Dispose();
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // QEMU never started.
            }
        }
    }
}
