using System.Globalization;
using System.Text;
using Veil.Topology.Planning;

namespace Veil.Topology.Output;

/// <summary>The human summary of a plan: what is passed, where it sits in the guest, and every diagnostic.</summary>
public static class PlanText
{
    public static string Summary(Plan plan)
    {
        var r = plan.Request;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"plan: {r.Mode.ToString().ToLowerInvariant()}, gpus={r.Gpus}, nics={(r.WithNics ? "yes" : "no")}, nvswitch={(r.WithNvSwitch ? "yes" : "no")}, cvm={r.Cvm.ToString().ToLowerInvariant()}, runtime={(r.Runtime == KataRuntime.Go ? "go" : "rs")}, iommufd={(plan.Iommufd ? "yes" : "no")}");
        sb.AppendLine();
        sb.AppendLine("devices to pass (whole IOMMU groups):");
        foreach (var d in plan.Devices)
        {
            var port = plan.Layout.Ports.FirstOrDefault(p => p.HostDevice == d.Address);
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {d.Address}  {Role(d.Role),-12} {d.VendorId:x4}:{d.DeviceId:x4}  group {d.IommuGroup?.ToString(CultureInfo.InvariantCulture) ?? "-",-4} numa {d.NumaNode?.ToString(CultureInfo.InvariantCulture) ?? "-",-2} {d.VfioDevice ?? "-",-8} → {port?.Name ?? "-"} (guest {port?.GuestAddress.ToString() ?? "-"})");
        }

        foreach (var b in plan.Blockers)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  blocker: group {b.Group} member {b.Member} ({b.Driver ?? "no driver"}) shares the group of {b.BlockedDevice}");
        }

        sb.AppendLine();
        var l = plan.Layout;
        sb.AppendLine(CultureInfo.InvariantCulture, $"guest ports: {l.RootPorts} root port(s), {l.SwitchPorts} switch downstream port(s), {l.Switches.Count} emulated switch(es) (limit {Checks.MaxPorts} each)");
        foreach (var sw in l.Switches)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  switch {sw.Index} mirrors {sw.HostSwitch}: {sw.RootPort} → {sw.UpstreamPort} → {string.Join(", ", sw.DownstreamPorts)}");
        }

        if (plan.Numa.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("NUMA:");
            foreach (var n in plan.Numa)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"  node {n.HostNode?.ToString(CultureInfo.InvariantCulture) ?? "-"}: {n.Gpus.Count} GPU(s), {n.Nics.Count} NIC(s): {n.Advice}");
            }
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"diagnostics ({plan.Diagnostics.Count}):");
        foreach (var d in plan.Diagnostics)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  {d.Severity.ToString().ToLowerInvariant()} {d.Code}{(d.Device is null ? string.Empty : $" [{d.Device}]")}: {d.Message}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    remedy: {d.Remedy}");
        }

        return sb.ToString();
    }

    private static string Role(PassRole r) => r switch
    {
        PassRole.Gpu => "gpu",
        PassRole.Nic => "nic",
        PassRole.NvSwitch => "nvswitch",
        _ => "group-member",
    };
}
