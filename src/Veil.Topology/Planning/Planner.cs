using Veil.Topology.Inventory;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Planning;

/// <summary>
/// Turns an inventory and a request into a plan: which functions to pass (whole IOMMU groups), where they sit
/// in the guest, and what blocks or weakens the result. Kata behaviour it follows is cited in
/// docs/research/kata-gpu-topology.md §1.2–1.3 (group expansion, bridge skipping, 16-port cap, iommufd for CVMs).
/// </summary>
public static class Planner
{
    // A CLI run plans once, so the first call is the one that counts: loops and List<T>.Sort over reference
    // types below are compiled ahead of time (ReadyToRun), where LINQ keyed by value types (OrderBy(f =>
    // f.Address), GroupBy, tuples) would be JIT-compiled on that first call.
    public static Plan Create(HostInventory inventory, PlanRequest request)
    {
        var diagnostics = new List<Diagnostic>();
        var gpus = SelectGpus(inventory, request.Gpus);
        var chosen = new List<Pick>();
        foreach (var g in gpus)
        {
            chosen.Add(new Pick(g, PassRole.Gpu));
        }

        if (request.WithNics)
        {
            foreach (var gpu in gpus)
            {
                var hs = Topology.HostSwitch(inventory, gpu);
                var nics = new List<PciFunction>();
                foreach (var f in hs is null ? [] : inventory.Functions)
                {
                    if (f.Kind == DeviceKind.Nic && f.PhysicalFunction is null && Topology.HostSwitch(inventory, f)?.Address == hs!.Address)
                    {
                        nics.Add(f);
                    }
                }

                if (nics.Count == 0)
                {
                    diagnostics.Add(new Diagnostic("no-local-nic", Severity.Info, gpu.Address.ToString(),
                        "no ConnectX NIC shares a PCIe switch with this GPU; GPUDirect RDMA traffic would cross the root complex",
                        "pick GPUs that sit under a switch with a NIC, or accept host-bridge (PHB) RDMA paths"));
                }

                foreach (var n in nics)
                {
                    if (!chosen.Exists(c => c.Fn.Address == n.Address))
                    {
                        chosen.Add(new Pick(n, PassRole.Nic));
                    }
                }
            }
        }

        var nvswitches = inventory.Functions.Where(f => f.Kind == DeviceKind.NvSwitch).ToList();
        if (request.WithNvSwitch)
        {
            foreach (var n in nvswitches)
            {
                chosen.Add(new Pick(n, PassRole.NvSwitch));
            }
        }
        else if (nvswitches.Count > 0)
        {
            diagnostics.Add(gpus.Count > 1
                ? new Diagnostic("nvswitch-not-passed", Severity.Warning, null,
                    $"{nvswitches.Count} NVSwitch(es) present but not passed: the {gpus.Count} GPUs get no NVLink in the VM and NCCL falls back to PCIe",
                    "add --with-nvswitch (bind NVSwitches to vfio-pci: vfio-manager BIND_NVSWITCHES=true; Kata ≥ 4.1 passes class 0x0680)")
                : new Diagnostic("nvswitch-not-passed", Severity.Info, null,
                    $"{nvswitches.Count} NVSwitch(es) present but not passed: a single GPU without NVSwitches is a valid Fabric Manager partition only with its NVLinks disabled",
                    "let the host disable the GPU's NVLinks (Fabric Manager full-passthrough 1+0 partition), or pass all GPUs with --with-nvswitch"));
        }

        var (passed, blockers) = ExpandGroups(inventory, request, chosen, diagnostics);
        var layout = GuestLayoutBuilder.Build(passed, request.Mode);
        Checks.Run(inventory, request, passed, blockers, layout, diagnostics);

        return new Plan
        {
            Request = request,
            Devices = passed,
            Blockers = blockers,
            Layout = layout,
            Numa = Checks.NumaAdvice(passed),
            Diagnostics = SortDiagnostics(diagnostics),
            Iommufd = inventory.IommufdAvailable,
            Mmio64Bytes = Checks.Mmio64(passed),
        };
    }

    /// <summary>Errors first, then by code and device; stable, so equal keys keep the order they were found in.</summary>
    private static List<Diagnostic> SortDiagnostics(List<Diagnostic> diagnostics) =>
        StableSort.InPlace(new List<Diagnostic>(diagnostics), static (a, b) =>
            a.Severity != b.Severity ? b.Severity.CompareTo(a.Severity)
            : string.CompareOrdinal(a.Code, b.Code) is var c and not 0 ? c
            : string.CompareOrdinal(a.Device, b.Device));

    private static List<PciFunction> SelectGpus(HostInventory inventory, GpuSelection selection)
    {
        if (selection.Addresses.Count > 0)
        {
            var picked = new List<PciFunction>();
            foreach (var a in selection.Addresses)
            {
                var f = inventory.Find(a) ?? throw new TopologyInputException("--gpus", $"{a} is not a PCI function on this host");
                picked.Add(f.Kind == DeviceKind.Gpu ? f : throw new TopologyInputException("--gpus", $"{a} is a {f.Kind} (class 0x{f.ClassCode:x6}), not an NVIDIA GPU"));
            }

            picked.Sort(Topology.ByAddress);
            return picked;
        }

        var all = inventory.Functions.Where(f => f.Kind == DeviceKind.Gpu && f.PhysicalFunction is null).ToList();
        all.Sort(Topology.ByAddress);
        if (all.Count == 0)
        {
            throw new TopologyInputException("--gpus", "no NVIDIA GPU (vendor 10de, class 0x0302/0x0300) under bus/pci/devices");
        }

        if (selection.Count is { } n)
        {
            return n <= all.Count ? all.GetRange(0, n) : throw new TopologyInputException("--gpus", $"asked for {n} GPUs, the host has {all.Count}");
        }

        return all;
    }

    private static (List<PassedDevice> Passed, List<GroupBlocker> Blockers) ExpandGroups(
        HostInventory inventory, PlanRequest request, List<Pick> chosen, List<Diagnostic> diagnostics)
    {
        var passed = new List<PassedDevice>(chosen.Count);
        foreach (var c in chosen)
        {
            passed.Add(ToPassed(inventory, c.Fn, c.Role));
        }

        var blockers = new List<GroupBlocker>();
        foreach (var c in chosen)
        {
            var fn = c.Fn;
            if (fn.IommuGroup is not { } gid)
            {
                diagnostics.Add(new Diagnostic("no-iommu-group", Severity.Error, fn.Address.ToString(),
                    "the function has no IOMMU group: VFIO cannot pass it through",
                    "enable the IOMMU (intel_iommu=on / amd_iommu=on, VT-d/AMD-Vi in firmware) and reboot"));
                continue;
            }

            var group = inventory.IommuGroups.FirstOrDefault(g => g.Id == gid);
            var members = group?.Members ?? [];
            for (var i = 0; i < members.Count; i++)
            {
                var member = members[i];
                if (member == fn.Address || passed.Exists(p => p.Address == member) || blockers.Exists(b => b.Member == member))
                {
                    continue;
                }

                var m = inventory.Find(member);
                if (m is null || m.IsBridgeClass)
                {
                    continue; // Kata skips host and PCI-PCI bridges in a group (checkIgnorePCIClass).
                }

                blockers.Add(new GroupBlocker(gid, member, fn.Address, m.Driver, m.ClassCode));
                if (request.Cvm == CvmKind.None)
                {
                    // The legacy group path hands every member to the VM.
                    passed.Add(ToPassed(inventory, m, PassRole.GroupMember));
                }
            }
        }

        return (passed, blockers);
    }

    private static PassedDevice ToPassed(HostInventory inventory, PciFunction f, PassRole role)
    {
        var mmio64 = 0UL;
        foreach (var b in f.Bars)
        {
            mmio64 += b.Is64Bit && !b.IsIo ? b.Size : 0;
        }

        return new(f.Address, role, f.VendorId, f.DeviceId, f.ClassCode, f.IommuGroup, f.NumaNode, f.VfioDevice, f.Driver,
            Topology.HostSwitch(inventory, f)?.Address, f.Config?.IsExtended ?? true, mmio64, f.Link.Speed, f.Link.Width);
    }

    private sealed record Pick(PciFunction Fn, PassRole Role);
}

/// <summary>Tree questions the planner asks.</summary>
internal static class Topology
{
    public static readonly Comparison<PciFunction> ByAddress = static (a, b) => a.Address.CompareTo(b.Address);

    /// <summary>The topmost switch upstream port above a function: the physical switch it hangs off (nested internal switches included).</summary>
    public static PciFunction? HostSwitch(HostInventory inventory, PciFunction f) =>
        inventory.Ancestors(f).LastOrDefault(a => a.Kind == DeviceKind.SwitchUpstream);
}
