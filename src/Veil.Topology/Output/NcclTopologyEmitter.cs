using System.Globalization;
using System.Text;
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
        var system = new XmlNode("system").With("version", "1");
        var guestNodes = plan.Numa.Count > 1 ? plan.Numa : [];
        var cpus = new Dictionary<int, XmlNode>();
        XmlNode Cpu(PassedDevice d)
        {
            var node = guestNodes.FirstOrDefault(n => n.HostNode == d.NumaNode)?.GuestNode ?? 0;
            if (!cpus.TryGetValue(node, out var cpu))
            {
                cpu = new XmlNode("cpu").With("numaid", node.ToString(CultureInfo.InvariantCulture)).With("arch", "x86_64");
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

        var nodes = new List<int>(cpus.Keys);
        nodes.Sort();
        foreach (var node in nodes)
        {
            system.Add(cpus[node]);
        }

        var sb = new StringBuilder(8192);
        sb.Append("<!-- written by veil topology plan (").Append(plan.Layout.Mode.ToString().ToLowerInvariant())
            .Append("); guest bus ids assume depth-first bus numbering (pci=assign-busses) -->\n");
        system.WriteTo(sb, 0);
        return sb.ToString();
    }

    private static XmlNode Endpoint(GuestPort port, PassedDevice dev, ref int gpuIndex)
    {
        var pci = Pci(port.GuestAddress, dev.ClassCode, dev.VendorId, dev.DeviceId, dev.LinkSpeed, dev.LinkWidth);
        if (dev.Role == PassRole.Gpu)
        {
            var index = gpuIndex.ToString(CultureInfo.InvariantCulture);
            var gpu = new XmlNode("gpu").With("dev", index).With("rank", index).With("gdr", "1");
            if (SmVersion(dev.DeviceId) is { } sm)
            {
                gpu.With("sm", sm);
            }

            gpuIndex++;
            pci.Add(gpu);
        }

        return pci;
    }

    private static XmlNode Pci(Sysfs.PciAddress busId, uint cls, ushort vendor, ushort device, string? speed, int? width) =>
        new XmlNode("pci")
            .With("busid", busId.ToString())
            .With("class", string.Create(CultureInfo.InvariantCulture, $"0x{cls:x6}"))
            .With("vendor", string.Create(CultureInfo.InvariantCulture, $"0x{vendor:x4}"))
            .With("device", string.Create(CultureInfo.InvariantCulture, $"0x{device:x4}"))
            .With("link_speed", speed ?? "Unknown")
            .With("link_width", (width ?? 0).ToString(CultureInfo.InvariantCulture));

    /// <summary>Compute capability by device id for the GPUs the research notes name (Hopper 9.0, Ampere 8.0).</summary>
    private static string? SmVersion(ushort deviceId) => deviceId switch
    {
        0x2330 or 0x2331 or 0x2335 or 0x2336 or 0x2324 => "90",
        0x20b0 or 0x20b2 or 0x20b8 => "80",
        _ => null,
    } is { } s ? s.ToString(CultureInfo.InvariantCulture) : null;

    /// <summary>
    /// An element with attributes and children, written the way XDocument.ToString() writes it (two-space indent,
    /// " />" for empty elements, attribute values escaped). Ours because System.Xml's first use cost a CLI run
    /// ~20 ms for a 3 KB file. Characters XML cannot carry (control characters from a corrupt sysfs text) become
    /// U+FFFD instead of an exception.
    /// </summary>
    private sealed class XmlNode(string name)
    {
        private readonly List<(string Name, string Value)> attributes = [];
        private readonly List<XmlNode> children = [];

        public XmlNode With(string attribute, string value)
        {
            attributes.Add((attribute, value));
            return this;
        }

        public void Add(XmlNode child) => children.Add(child);

        public void WriteTo(StringBuilder sb, int depth)
        {
            sb.Append(' ', depth * 2).Append('<').Append(name);
            foreach (var (attribute, value) in attributes)
            {
                sb.Append(' ').Append(attribute).Append("=\"");
                Escape(sb, value);
                sb.Append('"');
            }

            if (children.Count == 0)
            {
                sb.Append(" />\n");
                return;
            }

            sb.Append(">\n");
            foreach (var c in children)
            {
                c.WriteTo(sb, depth + 1);
            }

            sb.Append(' ', depth * 2).Append("</").Append(name).Append(">\n");
        }

        private static void Escape(StringBuilder sb, string value)
        {
            foreach (var ch in value)
            {
                _ = ch switch
                {
                    '&' => sb.Append("&amp;"),
                    '<' => sb.Append("&lt;"),
                    '>' => sb.Append("&gt;"),
                    '"' => sb.Append("&quot;"),
                    '\n' => sb.Append("&#xA;"),
                    '\r' => sb.Append("&#xD;"),
                    '\t' => sb.Append("&#x9;"),
                    < ' ' or '\uFFFE' or '\uFFFF' => sb.Append('\uFFFD'),
                    _ => sb.Append(ch),
                };
            }
        }
    }
}
