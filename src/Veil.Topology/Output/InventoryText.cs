using System.Globalization;
using System.Text;
using Veil.Topology.ConfigSpace;
using Veil.Topology.Inventory;

namespace Veil.Topology.Output;

/// <summary>Human views of a scan: a table (one function per line) and a tree like <c>lspci -t</c>.</summary>
public static class InventoryText
{
    public static string Table(HostInventory inv)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"BDF",-13} {"KIND",-17} {"ID",-9} {"CLASS",-8} {"DRIVER",-10} {"GROUP",5} {"NUMA",4} {"PORT",-17} {"LINK",-12} {"ACSCTL",-6} {"ATS",-4} BARS");
        foreach (var f in inv.Functions)
        {
            var kind = Kind(f.Kind) + (f.PhysicalFunction is null ? string.Empty : "-vf");
            var line = $"{f.Address,-13} {kind,-17} {f.VendorId:x4}:{f.DeviceId:x4} {f.ClassCode:x6}   {f.Driver ?? "-",-10} {Opt(f.IommuGroup),5} {Opt(f.NumaNode),4} {Port(f.PortType),-17} {Link(f),-12} {Acs(f.Config?.Acs),-6} {Ats(f.Config?.Ats),-4} {Bars(f)}";
            sb.AppendLine(line.TrimEnd());
        }

        Footer(sb, inv);
        return sb.ToString();
    }

    public static string Tree(HostInventory inv)
    {
        var sb = new StringBuilder();
        foreach (var rootBus in inv.Functions.Where(f => f.Parent is null).GroupBy(f => (f.Address.Domain, f.Address.Bus)).OrderBy(g => g.Key))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"[{rootBus.Key.Domain:x4}:{rootBus.Key.Bus:x2}]");
            foreach (var f in rootBus.OrderBy(f => f.Address))
            {
                Node(sb, inv, f, "  ", new HashSet<Sysfs.PciAddress>());
            }
        }

        Footer(sb, inv);
        return sb.ToString();
    }

    private static void Node(StringBuilder sb, HostInventory inv, PciFunction f, string indent, HashSet<Sysfs.PciAddress> seen)
    {
        if (!seen.Add(f.Address))
        {
            return;
        }

        var extra = f.Kind switch
        {
            DeviceKind.Gpu or DeviceKind.NvSwitch or DeviceKind.Nic => $" group={Opt(f.IommuGroup)} numa={Opt(f.NumaNode)} driver={f.Driver ?? "-"}",
            DeviceKind.RootPort or DeviceKind.SwitchDownstream when f.Config?.Acs is { } acs => $" acsctl=0x{acs.Control:x4}",
            _ => string.Empty,
        };
        sb.AppendLine(CultureInfo.InvariantCulture, $"{indent}{f.Address} {Kind(f.Kind)} {f.VendorId:x4}:{f.DeviceId:x4}{extra}");
        foreach (var c in inv.ChildrenOf(f.Address).OrderBy(c => c.Address))
        {
            Node(sb, inv, c, indent + "  ", seen);
        }
    }

    private static void Footer(StringBuilder sb, HostInventory inv)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"{inv.Functions.Count} functions, {inv.IommuGroups.Count} IOMMU groups, iommufd {(inv.IommufdAvailable ? "available" : "absent")}, vfio cdevs {(inv.VfioCdevsAvailable ? "present" : "absent")}");
        foreach (var w in inv.Warnings)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"warning: {w}");
        }
    }

    public static string Kind(DeviceKind k) => k switch
    {
        DeviceKind.Gpu => "gpu",
        DeviceKind.NvSwitch => "nvswitch",
        DeviceKind.Nic => "nic",
        DeviceKind.HostBridge => "host-bridge",
        DeviceKind.RootPort => "root-port",
        DeviceKind.SwitchUpstream => "switch-upstream",
        DeviceKind.SwitchDownstream => "switch-downstream",
        DeviceKind.Bridge => "bridge",
        _ => "other",
    };

    private static string Port(PciePortType? t) => t?.ToString() ?? "-";

    private static string Link(PciFunction f) => f.Link.Speed is { } s ? $"{s.Split(' ')[0]}x{f.Link.Width}" : "-";

    private static string Acs(AcsCapability? a) => a is null ? "-" : $"{a.Control:x4}";

    private static string Ats(AtsCapability? a) => a is null ? "-" : a.Enabled ? "on" : "off";

    private static string Opt(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Bars(PciFunction f) => string.Join(',', f.Bars.Select(b => $"{b.Index}:{Size(b.Size)}"));

    public static string Size(ulong bytes)
    {
        string[] units = ["", "K", "M", "G", "T"];
        var i = 0;
        while (i < units.Length - 1 && bytes >= 1024 && bytes % 1024 == 0)
        {
            bytes /= 1024;
            i++;
        }

        return $"{bytes}{units[i]}";
    }
}
