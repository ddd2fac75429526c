using Veil.Topology.ConfigSpace;
using Veil.Topology.Inventory;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Planning;

/// <summary>The diagnostics of a plan, each with severity and remedy (issue 8 scope item 2).</summary>
internal static class Checks
{
    /// <summary>QEMU's limit on pre-created root or switch ports (Kata maxPCIeRootPort/maxPCIeSwitchPort).</summary>
    public const int MaxPorts = 16;

    private const ulong LargeBar = 4UL << 30;

    public static void Run(HostInventory inv, PlanRequest request, List<PassedDevice> passed, List<GroupBlocker> blockers, GuestLayout layout, List<Diagnostic> diagnostics)
    {
        if (request.Cvm != CvmKind.None && !inv.IommufdAvailable)
        {
            diagnostics.Add(new Diagnostic("cvm-without-iommufd", Severity.Error, null,
                $"a confidential guest ({request.Cvm.ToString().ToUpperInvariant()}) needs IOMMUFD: Kata refuses legacy VFIO groups for it (\"ConfidentialGuest needs IOMMUFD\"), and /dev/iommu is absent",
                "load iommufd (modprobe iommufd; CONFIG_IOMMUFD, CONFIG_VFIO_DEVICE_CDEV) so /dev/iommu and /dev/vfio/devices/vfioN exist"));
        }

        foreach (var d in passed.Where(d => d.Role != PassRole.GroupMember && d.Driver != "vfio-pci"))
        {
            diagnostics.Add(new Diagnostic("not-bound-to-vfio", Severity.Warning, d.Address.ToString(),
                $"bound to {d.Driver ?? "no driver"}, not vfio-pci: it cannot be passed until rebound",
                $"echo vfio-pci > /sys/bus/pci/devices/{d.Address}/driver_override and rebind (GPU Operator vfio-manager does this for GPUs)"));
        }

        // One diagnostic per group, in the order groups were first met.
        var groupsSeen = new List<int>();
        foreach (var first in blockers)
        {
            if (groupsSeen.Contains(first.Group))
            {
                continue;
            }

            groupsSeen.Add(first.Group);
            var inGroup = blockers.Where(b => b.Group == first.Group);
            var members = string.Join(", ", inGroup.Select(b => $"{b.Member} (class 0x{b.ClassCode:x6}, {b.Driver ?? "no driver"})").Distinct());
            diagnostics.Add(new Diagnostic("iommu-group-shared", Severity.Warning, first.BlockedDevice.ToString(),
                $"IOMMU group {first.Group} also holds {members}; every member must be bound to vfio-pci"
                + (request.Cvm == CvmKind.None ? " and the legacy group path passes them into the VM too" : " (iommufd passes only the requested device)"),
                "move the card to a slot whose port isolates it (ACS), or accept passing the whole group; never use the ACS override patch on a CVM host"));
        }

        FabricChecks(inv, request, passed, diagnostics);
        PortChecks(request, layout, diagnostics);
        P2PChecks(inv, passed, diagnostics);
        NicChecks(inv, passed, diagnostics);

        var big = passed.Where(d => d.Mmio64Bytes >= LargeBar).ToList();
        if (big.Count > 0)
        {
            var total = Mmio64(passed);
            diagnostics.Add(new Diagnostic("large-bar", Severity.Info, null,
                $"{big.Count} device(s) with 64-bit BARs ≥ 4 GiB; the guest must map {Gib(total)} GiB of 64-bit MMIO or a GPU fails with 'BAR: no space'",
                $"keep pci=realloc pci=nocrs in the guest kernel parameters and give the guest firmware a 64-bit MMIO window of ≥ {MmioWindowMib(total)} MiB (OVMF fw_cfg opt/ovmf/X-PciMmio64Mb)"));
        }
    }

    /// <summary>Hopper HGX boards (H100/H200/H20 SXM): Fabric Manager full passthrough knows 8 GPUs + 4 NVSwitches or 1 + 0 only.</summary>
    private static bool IsHopperSxm(ushort deviceId) => deviceId is 0x2330 or 0x2335 or 0x2336 or 0x2324;

    private static void FabricChecks(HostInventory inv, PlanRequest request, List<PassedDevice> passed, List<Diagnostic> diagnostics)
    {
        var gpus = passed.Where(d => d.Role == PassRole.Gpu).ToList();
        var switches = inv.Functions.Count(f => f.Kind == DeviceKind.NvSwitch);
        var boardGpus = inv.Functions.Count(f => f.Kind == DeviceKind.Gpu && IsHopperSxm(f.DeviceId));
        if (request.WithNvSwitch && switches > 0 && gpus.Count > 0 && gpus.All(g => IsHopperSxm(g.DeviceId)) && gpus.Count != boardGpus)
        {
            diagnostics.Add(new Diagnostic("nvswitch-partition", Severity.Warning, null,
                $"{gpus.Count} of {boardGpus} Hopper SXM GPUs with the NVSwitches: Fabric Manager full passthrough on HGX H100/H200 supports 8 GPUs + 4 NVSwitches or 1 GPU + 0 only",
                "pass all GPUs with the NVSwitches, or single GPUs without NVSwitches (their NVLinks disabled by the host)"));
        }

        if (request.Cvm != CvmKind.None && gpus.Count > 1 && switches > 0)
        {
            diagnostics.Add(new Diagnostic("cvm-multi-gpu-ppcie", Severity.Info, null,
                $"{gpus.Count} GPUs in one confidential VM on an NVSwitch board: the GPUs and NVSwitches must be in protected PCIe mode",
                "label the node nvidia.com/cc.mode=ppcie (GPU Operator cc-manager) and check nvidia.com/cc.mode.state before scheduling"));
        }
    }

    private static void PortChecks(PlanRequest request, GuestLayout layout, List<Diagnostic> diagnostics)
    {
        if (layout.RootPorts > MaxPorts || layout.SwitchPorts > MaxPorts)
        {
            diagnostics.Add(new Diagnostic("port-count-over-16", Severity.Error, null,
                $"the plan needs {layout.RootPorts} root port(s) and {layout.SwitchPorts} switch port(s); QEMU/Kata allow at most {MaxPorts} of each (4 KiB I/O window per port out of 64 KiB)",
                "pass fewer devices per VM (drop --with-nics or the NVSwitches), or use replicate mode to move devices behind switch ports"));
        }

        if (request.Runtime == KataRuntime.Rs && request.Mode == PlacementMode.Replicate)
        {
            diagnostics.Add(new Diagnostic("runtime-rs-port-mode", Severity.Error, null,
                "runtime-rs cold-plugs VFIO devices on root ports only (cold_plug_vfio accepts no-port or root-port): it cannot build the emulated switches of replicate mode",
                "use --mode flatten with runtime-rs, or the Go runtime (shim containerd-shim-kata-v2) for replicate mode"));
        }
        else if (request.Mode == PlacementMode.Replicate && layout.Switches.Count > 1)
        {
            diagnostics.Add(new Diagnostic("kata-single-switch", Severity.Info, null,
                $"the plan has {layout.Switches.Count} emulated switches; stock Kata (switch-port) builds one switch with pcie_switch_port downstream ports",
                "use the emitted QEMU device list (qemu-pcie.args) with a VMM that accepts it, and the NCCL topology file so NCCL sees the per-switch grouping either way"));
        }

        if (layout.Ports.Count > 10)
        {
            diagnostics.Add(new Diagnostic("port-name-order", Severity.Info, null,
                $"{layout.Ports.Count} guest ports: Kata orders VFIO devices by the port name as a string, so rp10 sorts before rp2 and guest GPU indices may not follow host order",
                "rely on the CDI BDF annotations or the NCCL file rather than guest GPU indices"));
        }
    }

    /// <summary>ACS redirect on a switch port between two devices meant to talk P2P (GPU↔GPU, GPU↔NIC under one switch).</summary>
    private static void P2PChecks(HostInventory inv, List<PassedDevice> passed, List<Diagnostic> diagnostics)
    {
        var peers = passed.Where(d => d.Role is PassRole.Gpu or PassRole.Nic && d.HostSwitch is not null).ToList();
        var reported = new List<PciFunction>();
        foreach (var a in peers.Where(p => p.Role == PassRole.Gpu))
        {
            foreach (var b in peers.Where(p => p.HostSwitch == a.HostSwitch && p.Address != a.Address && (p.Role == PassRole.Nic || p.Address > a.Address)))
            {
                foreach (var port in PathPorts(inv, a.Address, b.Address))
                {
                    if (port.Config?.Acs is { RedirectsPeerTraffic: true } acs && !reported.Exists(r => r.Address == port.Address))
                    {
                        reported.Add(port);
                        var cleared = (ushort)(acs.Control & ~(AcsCapability.RequestRedirect | AcsCapability.CompletionRedirect));
                        diagnostics.Add(new Diagnostic("acs-redirect-on-p2p-path", Severity.Warning, port.Address.ToString(),
                            $"ACS {AcsCapability.Describe(acs.Control)} on {port.Kind} {port.Address}, on the P2P path {a.Address} ↔ {b.Address}: peer requests are redirected to the root complex, so GPUDirect P2P/RDMA is not direct",
                            $"setpci -s {port.Address} ECAP_ACS+0x6.w=0x{cleared:x4} (clears ReqRedir/CmpltRedir on this port only; or enable DirectTrans with ATS on the endpoints)"));
                    }
                }
            }
        }
    }

    /// <summary>Ports strictly between two functions and their lowest common ancestor.</summary>
    private static IEnumerable<PciFunction> PathPorts(HostInventory inv, PciAddress a, PciAddress b)
    {
        var fa = inv.Find(a);
        var fb = inv.Find(b);
        if (fa is null || fb is null)
        {
            return [];
        }

        var upA = inv.Ancestors(fa).ToList();
        var upB = inv.Ancestors(fb).ToList();
        var common = upA.FirstOrDefault(x => upB.Any(y => y.Address == x.Address));
        bool Below(PciFunction x, List<PciFunction> chain) => common is null || chain.IndexOf(x) < chain.FindIndex(y => y.Address == common.Address);
        return upA.Where(x => Below(x, upA)).Concat(upB.Where(x => Below(x, upB)))
            .Where(x => x.Kind is DeviceKind.SwitchDownstream or DeviceKind.SwitchUpstream or DeviceKind.RootPort);
    }

    private static void NicChecks(HostInventory inv, List<PassedDevice> passed, List<Diagnostic> diagnostics)
    {
        foreach (var nic in passed.Where(d => d.Role == PassRole.Nic))
        {
            var ats = inv.Find(nic.Address)?.Config?.Ats;
            if (ats is not { Enabled: true })
            {
                diagnostics.Add(new Diagnostic("ats-off-on-gdr-nic", Severity.Warning, nic.Address.ToString(),
                    ats is null
                        ? "the NIC meant for GPUDirect RDMA exposes no ATS capability: translated peer DMA cannot bypass the IOMMU"
                        : "ATS is present but disabled (ATSCtl Enable-) on the NIC meant for GPUDirect RDMA",
                    $"mlxconfig -d {nic.Address} set ATS_ENABLED=true, then reboot the host (NVIDIA VM configuration guide, appendix)"));
            }

            foreach (var gpu in passed.Where(g => g.Role == PassRole.Gpu && g.HostSwitch == nic.HostSwitch && g.HostSwitch is not null))
            {
                if (gpu.NumaNode != nic.NumaNode)
                {
                    diagnostics.Add(new Diagnostic("gpu-nic-numa-mismatch", Severity.Warning, nic.Address.ToString(),
                        $"GPU {gpu.Address} is on NUMA node {Node(gpu.NumaNode)} but its NIC {nic.Address} is on node {Node(nic.NumaNode)}",
                        "check the firmware's NUMA/SNC setting (numa_node of both functions); pin the VM's vCPUs and memory on the GPU's node"));
                }
            }
        }
    }

    public static List<NumaAdvice> NumaAdvice(IReadOnlyList<PassedDevice> passed)
    {
        // GPUs and NICs grouped by host node, nodes ascending (no affinity first), each group in plan order.
        var nodes = new List<List<PassedDevice>>();
        foreach (var d in passed)
        {
            if (d.Role is PassRole.Gpu or PassRole.Nic)
            {
                var node = nodes.Find(n => n[0].NumaNode == d.NumaNode);
                if (node is null)
                {
                    nodes.Add(node = []);
                }

                node.Add(d);
            }
        }

        StableSort.InPlace(nodes, static (a, b) => (a[0].NumaNode ?? -1).CompareTo(b[0].NumaNode ?? -1));
        var advice = new List<NumaAdvice>(nodes.Count);
        foreach (var g in nodes)
        {
            var gpus = new List<PciAddress>();
            var nics = new List<PciAddress>();
            foreach (var d in g)
            {
                (d.Role == PassRole.Gpu ? gpus : nics).Add(d.Address);
            }

            var i = advice.Count;
            var text = g[0].NumaNode is { } n
                ? $"pin the vCPUs and memory serving these {gpus.Count} GPU(s) and {nics.Count} NIC(s) to host node {n} (numactl --cpunodebind={n} --membind={n}); guest node {i}"
                : "no NUMA affinity reported (numa_node = -1); any node";
            advice.Add(new NumaAdvice(g[0].NumaNode, i, gpus, nics, text));
        }

        return advice;
    }

    /// <summary>Sum of the devices' 64-bit BARs.</summary>
    public static ulong Mmio64(IReadOnlyList<PassedDevice> passed)
    {
        var total = 0UL;
        foreach (var d in passed)
        {
            total += d.Mmio64Bytes;
        }

        return total;
    }

    public static long MmioWindowMib(ulong bytes)
    {
        // Power-of-two window: BARs are naturally aligned, so a sum that is not a power of two does not pack.
        var mib = Math.Max(1UL, bytes >> 20);
        var window = 1UL;
        while (window < mib)
        {
            window <<= 1;
        }

        return (long)Math.Max(window, 32768UL);
    }

    private static string Node(int? n) => n?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";

    private static ulong Gib(ulong bytes) => (bytes + (1UL << 30) - 1) >> 30;
}
