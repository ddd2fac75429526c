using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Topology.Planning;

namespace Veil.Topology.Output;

/// <summary>
/// CDI spec for the plan's GPUs, as NVIDIA's sandbox device plugin writes it: kind <c>nvidia.com/pgpu</c>,
/// device name = its device-plugin id (IOMMUFD cdev <c>vfioN</c>, or the legacy group number), device nodes
/// <c>/dev/vfio/devices/vfioN</c> or <c>/dev/vfio/vfio</c> + <c>/dev/vfio/&lt;group&gt;</c>. JSON is a valid
/// CDI spec encoding (/etc/cdi/*.json).
/// </summary>
public static class CdiSpecEmitter
{
    public const string Kind = "nvidia.com/pgpu";

    public const string BdfAnnotation = "veil.dev/host-bdf";

    public static string Emit(Plan plan, bool annotate = true)
    {
        var devices = new JsonArray();
        foreach (var gpu in plan.Gpus)
        {
            var name = DeviceName(plan, gpu);
            var nodes = new JsonArray();
            if (plan.Iommufd && gpu.VfioDevice is { } v)
            {
                nodes.Add(new JsonObject { ["path"] = $"/dev/vfio/devices/{v}", ["permissions"] = "rwm" });
            }
            else
            {
                nodes.Add(new JsonObject { ["path"] = "/dev/vfio/vfio", ["permissions"] = "rwm" });
                nodes.Add(new JsonObject { ["path"] = $"/dev/vfio/{gpu.IommuGroup?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}", ["permissions"] = "rwm" });
            }

            var device = new JsonObject { ["name"] = name };
            if (annotate)
            {
                device["annotations"] = new JsonObject { [BdfAnnotation] = gpu.Address.ToString() };
            }

            device["containerEdits"] = new JsonObject { ["deviceNodes"] = nodes };
            devices.Add(device);
        }

        var spec = new JsonObject
        {
            ["cdiVersion"] = MinimumVersion(devices),
            ["kind"] = Kind,
            ["devices"] = devices,
        };
        return spec.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The device-plugin id: what <c>nvidia.com/pgpu=&lt;id&gt;</c> names.</summary>
    public static string DeviceName(Plan plan, PassedDevice gpu) =>
        plan.Iommufd && gpu.VfioDevice is { } v ? v : gpu.IommuGroup?.ToString(CultureInfo.InvariantCulture) ?? gpu.Address.ToString().Replace(':', '-');

    /// <summary>
    /// Lowest cdiVersion that allows the fields used (CDI specs-go/version.go): annotations need 0.6.0;
    /// device names starting with a digit and deviceNode hostPath need 0.5.0; otherwise 0.3.0.
    /// </summary>
    internal static string MinimumVersion(JsonArray devices)
    {
        var objs = devices.OfType<JsonObject>().ToList();
        if (objs.Any(d => d.ContainsKey("annotations")))
        {
            return "0.6.0";
        }

        var digitName = objs.Any(d => d["name"]?.GetValue<string>() is { Length: > 0 } n && char.IsAsciiDigit(n[0]));
        var hostPath = objs.Any(d => d["containerEdits"]?["deviceNodes"] is JsonArray a && a.OfType<JsonObject>().Any(n => n.ContainsKey("hostPath")));
        return digitName || hostPath ? "0.5.0" : "0.3.0";
    }
}
