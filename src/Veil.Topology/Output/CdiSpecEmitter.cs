using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
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
        var devices = new List<CdiDevice>();
        foreach (var gpu in plan.Gpus)
        {
            var nodes = plan.Iommufd && gpu.VfioDevice is { } v
                ? new List<string> { $"/dev/vfio/devices/{v}" }
                : ["/dev/vfio/vfio", $"/dev/vfio/{gpu.IommuGroup?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}"];
            devices.Add(new CdiDevice(DeviceName(plan, gpu), annotate ? gpu.Address.ToString() : null, nodes));
        }

        // Written on a Utf8JsonWriter: a JsonNode tree cost a CLI run ~15 ms of first-call set-up for ~1 KB.
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("cdiVersion", MinimumVersion(devices));
            w.WriteString("kind", Kind);
            w.WriteStartArray("devices");
            foreach (var d in devices)
            {
                w.WriteStartObject();
                w.WriteString("name", d.Name);
                if (d.HostBdf is { } bdf)
                {
                    w.WriteStartObject("annotations");
                    w.WriteString(BdfAnnotation, bdf);
                    w.WriteEndObject();
                }

                w.WriteStartObject("containerEdits");
                w.WriteStartArray("deviceNodes");
                foreach (var path in d.DeviceNodes)
                {
                    w.WriteStartObject();
                    w.WriteString("path", path);
                    w.WriteString("permissions", "rwm");
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    /// <summary>The device-plugin id: what <c>nvidia.com/pgpu=&lt;id&gt;</c> names.</summary>
    public static string DeviceName(Plan plan, PassedDevice gpu) =>
        plan.Iommufd && gpu.VfioDevice is { } v ? v : gpu.IommuGroup?.ToString(CultureInfo.InvariantCulture) ?? gpu.Address.ToString().Replace(':', '-');

    /// <summary>
    /// Lowest cdiVersion that allows the fields used (CDI specs-go/version.go): annotations need 0.6.0;
    /// device names starting with a digit and deviceNode hostPath need 0.5.0; otherwise 0.3.0.
    /// </summary>
    internal static string MinimumVersion(IReadOnlyList<CdiDevice> devices)
    {
        if (devices.Any(d => d.HostBdf is not null))
        {
            return "0.6.0";
        }

        var digitName = devices.Any(d => d.Name is { Length: > 0 } n && char.IsAsciiDigit(n[0]));
        var hostPath = devices.Any(d => d.HostPaths);
        return digitName || hostPath ? "0.5.0" : "0.3.0";
    }

    /// <summary>One CDI device as Veil writes it; <paramref name="HostPaths"/> says a device node would carry a hostPath (never, today).</summary>
    internal sealed record CdiDevice(string Name, string? HostBdf, IReadOnlyList<string> DeviceNodes, bool HostPaths = false);
}
