using Veil.Topology.Inventory;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Planning;

/// <summary>
/// Turns an inventory and a request into a plan: which functions to pass (whole IOMMU groups), where they sit
/// in the guest, and what blocks or weakens the result. Kata behaviour it follows is cited in
/// research/kata-gpu-topology.md §1.2–1.3 (group expansion, bridge skipping, 16-port cap, iommufd for CVMs).
/// </summary>
public static class Planner
{
    public static Plan Create(HostInventory inventory, PlanRequest request)
    {
        var diagnostics = new List<Diagnostic>();
        var gpus = SelectGpus(inventory, request.Gpus);
        var chosen = new List<(PciFunction Fn, PassRole Role)>(gpus.Select(g => (g, PassRole.Gpu)));

        if (request.WithNics)
        {
            foreach (var gpu in gpus)
            {
                var hs = Topology.HostSwitch(inventory, gpu);
                var nics = hs is null ? [] : inventory.Functions.Where(f => f.Kind == DeviceKind.Nic && f.PhysicalFunction is null && Topology.HostSwitch(inventory, f)?.Address == hs.Address).ToList();
                if (nics.Count == 0)
                {
                    diagnostics.Add(new Diagnostic("no-local-nic", Severity.Info, gpu.Address.ToString(),
                        "no ConnectX NIC shares a PCIe switch with this GPU; GPUDirect RDMA traffic would cross the root complex",
                        "pick GPUs that sit under a switch with a NIC, or accept host-bridge (PHB) RDMA paths"));
                }

                chosen.AddRange(nics.Where(n => chosen.All(c => c.Fn.Address != n.Address)).Select(n => (n, PassRole.Nic)));
            }
        }

        var nvswitches = inventory.Functions.Where(f => f.Kind == DeviceKind.NvSwitch).ToList();
        if (request.WithNvSwitch)
        {
            chosen.AddRange(nvswitches.Select(n => (n, PassRole.NvSwitch)));
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
            Diagnostics = diagnostics.OrderByDescending(d => d.Severity).ThenBy(d => d.Code, StringComparer.Ordinal).ThenBy(d => d.Device, StringComparer.Ordinal).ToList(),
            Iommufd = inventory.IommufdAvailable,
            Mmio64Bytes = passed.Aggregate(0UL, (sum, d) => sum + d.Mmio64Bytes),
        };
    }

    private static List<PciFunction> SelectGpus(HostInventory inventory, GpuSelection selection)
    {
        var all = inventory.Functions.Where(f => f.Kind == DeviceKind.Gpu && f.PhysicalFunction is null).OrderBy(f => f.Address).ToList();
        if (selection.Addresses.Count > 0)
        {
            return selection.Addresses.Select(a =>
            {
                var f = inventory.Find(a) ?? throw new TopologyInputException("--gpus", $"{a} is not a PCI function on this host");
                return f.Kind == DeviceKind.Gpu ? f : throw new TopologyInputException("--gpus", $"{a} is a {f.Kind} (class 0x{f.ClassCode:x6}), not an NVIDIA GPU");
            }).OrderBy(f => f.Address).ToList();
        }

        if (all.Count == 0)
        {
            throw new TopologyInputException("--gpus", "no NVIDIA GPU (vendor 10de, class 0x0302/0x0300) under bus/pci/devices");
        }

        if (selection.Count is { } n)
        {
            return n <= all.Count ? all.Take(n).ToList() : throw new TopologyInputException("--gpus", $"asked for {n} GPUs, the host has {all.Count}");
        }

        return all;
    }

    private static (List<PassedDevice> Passed, List<GroupBlocker> Blockers) ExpandGroups(
        HostInventory inventory, PlanRequest request, List<(PciFunction Fn, PassRole Role)> chosen, List<Diagnostic> diagnostics)
    {
        var passed = chosen.Select(c => ToPassed(inventory, c.Fn, c.Role)).ToList();
        var blockers = new List<GroupBlocker>();
        foreach (var (fn, _) in chosen)
        {
            if (fn.IommuGroup is not { } gid)
            {
                diagnostics.Add(new Diagnostic("no-iommu-group", Severity.Error, fn.Address.ToString(),
                    "the function has no IOMMU group: VFIO cannot pass it through",
                    "enable the IOMMU (intel_iommu=on / amd_iommu=on, VT-d/AMD-Vi in firmware) and reboot"));
                continue;
            }

            var group = inventory.IommuGroups.FirstOrDefault(g => g.Id == gid);
            foreach (var member in group?.Members ?? [])
            {
                if (member == fn.Address || passed.Any(p => p.Address == member) || blockers.Any(b => b.Member == member))
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

    private static PassedDevice ToPassed(HostInventory inventory, PciFunction f, PassRole role) => new(
        f.Address, role, f.VendorId, f.DeviceId, f.ClassCode, f.IommuGroup, f.NumaNode, f.VfioDevice, f.Driver,
        Topology.HostSwitch(inventory, f)?.Address, f.Config?.IsExtended ?? true,
        f.Bars.Where(b => b.Is64Bit && !b.IsIo).Aggregate(0UL, (s, b) => s + b.Size), f.Link.Speed, f.Link.Width);
}

/// <summary>Tree questions the planner asks.</summary>
internal static class Topology
{
    /// <summary>The topmost switch upstream port above a function: the physical switch it hangs off (nested internal switches included).</summary>
    public static PciFunction? HostSwitch(HostInventory inventory, PciFunction f) =>
        inventory.Ancestors(f).LastOrDefault(a => a.Kind == DeviceKind.SwitchUpstream);
}
