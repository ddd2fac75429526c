using System.Globalization;
using System.Xml.Linq;
using Veil.Topology.Planning;

namespace Veil.Topology.Output;

/// <summary>
/// NCCL topology file (NCCL_TOPO_FILE) for the guest, in the shape of NCCL's own dumps (system/cpu/pci/gpu):
/// GPUs and NICs under their emulated switch in replicate mode, each under the CPU in flatten mode. Bus ids
/// are the guest addresses the layout predicts. NVLinks are left for NCCL to detect through NVML.
/// </summary>
public static class NcclTopologyEmitter
{
    public static string Emit(Plan plan)
    {
        var system = new XElement("system", new XAttribute("version", "1"));
        var guestNodes = plan.Numa.Count > 1 ? plan.Numa : [];
        var cpus = new Dictionary<int, XElement>();
        XElement Cpu(PassedDevice d)
        {
            var node = guestNodes.FirstOrDefault(n => n.HostNode == d.NumaNode)?.GuestNode ?? 0;
            if (!cpus.TryGetValue(node, out var cpu))
            {
                cpu = new XElement("cpu", new XAttribute("numaid", node), new XAttribute("arch", "x86_64"));
                cpus[node] = cpu;
            }

            return cpu;
        }

        var gpuIndex = 0;
        foreach (var sw in plan.Layout.Switches)
        {
            var members = plan.Layout.Ports.Where(p => p.Switch == sw.Index).Select(p => (Port: p, Dev: plan.Devices.First(d => d.Address == p.HostDevice))).ToList();
            var relevant = members.Where(m => m.Dev.Role is PassRole.Gpu or PassRole.Nic).ToList();
            if (relevant.Count == 0)
            {
                continue;
            }

            // x3130/xio3130 are QEMU's emulated switch ports (TI vendor 104c).
            var sElem = Pci(sw.GuestUpstream, 0x060400, 0x104c, 0x8232, relevant.Max(m => m.Dev.LinkSpeed), relevant.Max(m => m.Dev.LinkWidth));
            foreach (var (port, dev) in relevant)
            {
                sElem.Add(Endpoint(port, dev, ref gpuIndex));
            }

            Cpu(relevant[0].Dev).Add(sElem);
        }

        foreach (var port in plan.Layout.Ports.Where(p => p.Switch is null))
        {
            var dev = plan.Devices.First(d => d.Address == port.HostDevice);
            if (dev.Role is PassRole.Gpu or PassRole.Nic)
            {
                Cpu(dev).Add(Endpoint(port, dev, ref gpuIndex));
            }
        }

        foreach (var cpu in cpus.OrderBy(c => c.Key))
        {
            system.Add(cpu.Value);
        }

        var doc = new XDocument(new XComment($" written by veil topology plan ({plan.Layout.Mode.ToString().ToLowerInvariant()}); guest bus ids assume depth-first bus numbering (pci=assign-busses) "), system);
        return doc.ToString() + "\n";
    }

    private static XElement Endpoint(GuestPort port, PassedDevice dev, ref int gpuIndex)
    {
        var pci = Pci(port.GuestAddress, dev.ClassCode, dev.VendorId, dev.DeviceId, dev.LinkSpeed, dev.LinkWidth);
        if (dev.Role == PassRole.Gpu)
        {
            var gpu = new XElement("gpu", new XAttribute("dev", gpuIndex), new XAttribute("rank", gpuIndex), new XAttribute("gdr", "1"));
            if (SmVersion(dev.DeviceId) is { } sm)
            {
                gpu.Add(new XAttribute("sm", sm));
            }

            gpuIndex++;
            pci.Add(gpu);
        }

        return pci;
    }

    private static XElement Pci(Sysfs.PciAddress busId, uint cls, ushort vendor, ushort device, string? speed, int? width) => new(
        "pci",
        new XAttribute("busid", busId.ToString()),
        new XAttribute("class", $"0x{cls:x6}"),
        new XAttribute("vendor", $"0x{vendor:x4}"),
        new XAttribute("device", $"0x{device:x4}"),
        new XAttribute("link_speed", speed ?? "Unknown"),
        new XAttribute("link_width", width ?? 0));

    /// <summary>Compute capability by device id for the GPUs the research notes name (Hopper 9.0, Ampere 8.0).</summary>
    private static string? SmVersion(ushort deviceId) => deviceId switch
    {
        0x2330 or 0x2331 or 0x2335 or 0x2336 or 0x2324 => "90",
        0x20b0 or 0x20b2 or 0x20b8 => "80",
        _ => null,
    } is { } s ? s.ToString(CultureInfo.InvariantCulture) : null;
}
