using System.Buffers;
using System.Text;
using System.Text.Json;
using Veil.Topology.ConfigSpace;
using Veil.Topology.Inventory;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Output;

/// <summary>
/// JSON for scans and plans: camelCase, properties in declaration order, nulls left out, enums as kebab-case
/// strings, PCI addresses as <c>DDDD:BB:DD.F</c> — what System.Text.Json writes for these records with those
/// options (a test holds the two to byte equality). Written by hand on a Utf8JsonWriter because the serializer's
/// first call JIT-compiled ~900 generic methods for these value-typed properties: most of a cold
/// <c>veil topology plan --emit all</c>.
/// </summary>
public static class TopologyJson
{
    private static readonly JsonWriterOptions Options = new() { Indented = true };

    public static string Serialize(HostInventory inventory) => Write(inventory, static (w, inv) => Inventory(w, inv));

    public static string Serialize(Plan plan) => Write(plan, static (w, p) => Plan(w, p));

    private static string Write<T>(T value, Action<Utf8JsonWriter, T> write)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            write(w, value);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static void Inventory(Utf8JsonWriter w, HostInventory inv)
    {
        w.WriteStartObject();
        w.WriteString("sysfsRoot", inv.SysfsRoot);
        w.WriteStartArray("functions");
        foreach (var f in inv.Functions)
        {
            Function(w, f);
        }

        w.WriteEndArray();
        w.WriteStartArray("iommuGroups");
        foreach (var g in inv.IommuGroups)
        {
            w.WriteStartObject();
            w.WriteNumber("id", g.Id);
            Addresses(w, "members", g.Members);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteBoolean("iommufdAvailable", inv.IommufdAvailable);
        w.WriteBoolean("vfioCdevsAvailable", inv.VfioCdevsAvailable);
        w.WriteStartArray("warnings");
        foreach (var x in inv.Warnings)
        {
            w.WriteStartObject();
            w.WriteString("code", x.Code);
            Str(w, "device", x.Device);
            w.WriteString("message", x.Message);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Function(Utf8JsonWriter w, PciFunction f)
    {
        w.WriteStartObject();
        w.WriteString("address", f.Address.ToString());
        Addr(w, "parent", f.Parent);
        Str(w, "devicePath", f.DevicePath);
        w.WriteNumber("classCode", f.ClassCode);
        w.WriteNumber("vendorId", f.VendorId);
        w.WriteNumber("deviceId", f.DeviceId);
        w.WriteNumber("subsystemVendorId", f.SubsystemVendorId);
        w.WriteNumber("subsystemDeviceId", f.SubsystemDeviceId);
        Str(w, "driver", f.Driver);
        Num(w, "iommuGroup", f.IommuGroup);
        Num(w, "numaNode", f.NumaNode);
        Addr(w, "physicalFunction", f.PhysicalFunction);
        Addresses(w, "virtualFunctions", f.VirtualFunctions);
        w.WriteStartObject("link");
        Str(w, "speed", f.Link.Speed);
        Num(w, "width", f.Link.Width);
        Str(w, "maxSpeed", f.Link.MaxSpeed);
        Num(w, "maxWidth", f.Link.MaxWidth);
        w.WriteEndObject();
        w.WriteStartArray("bars");
        foreach (var b in f.Bars)
        {
            w.WriteStartObject();
            w.WriteNumber("index", b.Index);
            w.WriteNumber("start", b.Start);
            w.WriteNumber("size", b.Size);
            w.WriteBoolean("isIo", b.IsIo);
            w.WriteBoolean("is64Bit", b.Is64Bit);
            w.WriteBoolean("prefetchable", b.Prefetchable);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (f.Config is { } c)
        {
            Config(w, c);
        }

        Str(w, "vfioDevice", f.VfioDevice);
        w.WriteString("kind", Kebab(f.Kind));
        w.WriteNumber("baseClass", f.BaseClass);
        w.WriteNumber("classAndSubclass", f.ClassAndSubclass);
        if (f.PortType is { } pt)
        {
            w.WriteString("portType", Kebab(pt));
        }

        w.WriteBoolean("isBridgeClass", f.IsBridgeClass);
        w.WriteNumber("largestBar", f.LargestBar);
        w.WriteEndObject();
    }

    private static void Config(Utf8JsonWriter w, ConfigSpaceInfo c)
    {
        w.WriteStartObject("config");
        w.WriteNumber("length", c.Length);
        w.WriteNumber("headerType", c.HeaderType);
        Num(w, "secondaryBus", c.SecondaryBus);
        Num(w, "subordinateBus", c.SubordinateBus);
        if (c.PortType is { } pt)
        {
            w.WriteString("portType", Kebab(pt));
        }

        Num(w, "linkCapSpeed", c.LinkCapSpeed);
        Num(w, "linkCapWidth", c.LinkCapWidth);
        Num(w, "linkSpeed", c.LinkSpeed);
        Num(w, "linkWidth", c.LinkWidth);
        if (c.Acs is { } acs)
        {
            w.WriteStartObject("acs");
            w.WriteNumber("offset", acs.Offset);
            w.WriteNumber("capability", acs.Capability);
            w.WriteNumber("control", acs.Control);
            w.WriteBoolean("redirectsPeerTraffic", acs.RedirectsPeerTraffic);
            w.WriteEndObject();
        }

        if (c.Ats is { } ats)
        {
            w.WriteStartObject("ats");
            w.WriteNumber("offset", ats.Offset);
            w.WriteNumber("capability", ats.Capability);
            w.WriteNumber("control", ats.Control);
            w.WriteBoolean("enabled", ats.Enabled);
            w.WriteEndObject();
        }

        if (c.Sriov is { } sriov)
        {
            w.WriteStartObject("sriov");
            w.WriteNumber("offset", sriov.Offset);
            w.WriteNumber("totalVfs", sriov.TotalVfs);
            w.WriteNumber("numVfs", sriov.NumVfs);
            w.WriteEndObject();
        }

        w.WriteBoolean("isExtended", c.IsExtended);
        w.WriteStartArray("problems");
        foreach (var p in c.Problems)
        {
            w.WriteStringValue(p);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Plan(Utf8JsonWriter w, Plan p)
    {
        w.WriteStartObject();
        var r = p.Request;
        w.WriteStartObject("request");
        w.WriteStartObject("gpus");
        w.WriteBoolean("all", r.Gpus.All);
        Num(w, "count", r.Gpus.Count);
        Addresses(w, "addresses", r.Gpus.Addresses);
        w.WriteEndObject();
        w.WriteString("mode", Kebab(r.Mode));
        w.WriteBoolean("withNics", r.WithNics);
        w.WriteBoolean("withNvSwitch", r.WithNvSwitch);
        w.WriteString("cvm", Kebab(r.Cvm));
        w.WriteString("runtime", Kebab(r.Runtime));
        w.WriteEndObject();

        w.WriteStartArray("devices");
        foreach (var d in p.Devices)
        {
            w.WriteStartObject();
            w.WriteString("address", d.Address.ToString());
            w.WriteString("role", Kebab(d.Role));
            w.WriteNumber("vendorId", d.VendorId);
            w.WriteNumber("deviceId", d.DeviceId);
            w.WriteNumber("classCode", d.ClassCode);
            Num(w, "iommuGroup", d.IommuGroup);
            Num(w, "numaNode", d.NumaNode);
            Str(w, "vfioDevice", d.VfioDevice);
            Str(w, "driver", d.Driver);
            Addr(w, "hostSwitch", d.HostSwitch);
            w.WriteBoolean("isPcie", d.IsPcie);
            w.WriteNumber("mmio64Bytes", d.Mmio64Bytes);
            Str(w, "linkSpeed", d.LinkSpeed);
            Num(w, "linkWidth", d.LinkWidth);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("blockers");
        foreach (var b in p.Blockers)
        {
            w.WriteStartObject();
            w.WriteNumber("group", b.Group);
            w.WriteString("member", b.Member.ToString());
            w.WriteString("blockedDevice", b.BlockedDevice.ToString());
            Str(w, "driver", b.Driver);
            w.WriteNumber("classCode", b.ClassCode);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        Layout(w, p.Layout);
        w.WriteStartArray("numa");
        foreach (var n in p.Numa)
        {
            w.WriteStartObject();
            Num(w, "hostNode", n.HostNode);
            w.WriteNumber("guestNode", n.GuestNode);
            Addresses(w, "gpus", n.Gpus);
            Addresses(w, "nics", n.Nics);
            w.WriteString("advice", n.Advice);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("diagnostics");
        foreach (var d in p.Diagnostics)
        {
            w.WriteStartObject();
            w.WriteString("code", d.Code);
            w.WriteString("severity", Kebab(d.Severity));
            Str(w, "device", d.Device);
            w.WriteString("message", d.Message);
            w.WriteString("remedy", d.Remedy);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteBoolean("iommufd", p.Iommufd);
        w.WriteNumber("mmio64Bytes", p.Mmio64Bytes);
        w.WriteBoolean("hasErrors", p.HasErrors);
        w.WriteEndObject();
    }

    private static void Layout(Utf8JsonWriter w, GuestLayout l)
    {
        w.WriteStartObject("layout");
        w.WriteString("mode", Kebab(l.Mode));
        w.WriteNumber("rootPorts", l.RootPorts);
        w.WriteNumber("switchPorts", l.SwitchPorts);
        w.WriteStartArray("switches");
        foreach (var s in l.Switches)
        {
            w.WriteStartObject();
            w.WriteNumber("index", s.Index);
            w.WriteString("hostSwitch", s.HostSwitch.ToString());
            w.WriteString("rootPort", s.RootPort);
            w.WriteString("upstreamPort", s.UpstreamPort);
            w.WriteString("guestUpstream", s.GuestUpstream.ToString());
            w.WriteStartArray("downstreamPorts");
            foreach (var d in s.DownstreamPorts)
            {
                w.WriteStringValue(d);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("ports");
        foreach (var port in l.Ports)
        {
            w.WriteStartObject();
            w.WriteString("name", port.Name);
            w.WriteString("kind", Kebab(port.Kind));
            Num(w, "switch", port.Switch);
            w.WriteString("hostDevice", port.HostDevice.ToString());
            w.WriteString("guestAddress", port.GuestAddress.ToString());
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Addresses(Utf8JsonWriter w, string name, IReadOnlyList<PciAddress> list)
    {
        w.WriteStartArray(name);
        for (var i = 0; i < list.Count; i++)
        {
            w.WriteStringValue(list[i].ToString());
        }

        w.WriteEndArray();
    }

    private static void Str(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Num(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }

    private static void Addr(Utf8JsonWriter w, string name, PciAddress? value)
    {
        if (value is { } v)
        {
            w.WriteString(name, v.ToString());
        }
    }

    private static string Kebab(Enum value) => JsonNamingPolicy.KebabCaseLower.ConvertName(value.ToString());
}
