using System.Globalization;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Tests.Fixtures;

/// <summary>
/// Writes a fake sysfs tree from a compact description, laid out as the kernel does: real device directories
/// under devices/pciDDDD:BB/…, bus/pci/devices/X symlinks into them, driver/iommu_group/physfn/virtfnN
/// symlinks, kernel/iommu_groups/N/devices, binary config with real capability chains, resource files in the
/// kernel's format. Description lines (# comments allowed):
///   <c>&lt;bdf&gt; &lt;parent bdf|-&gt; &lt;kind&gt; &lt;vvvv:dddd&gt; [class=0x..] [sub=vvvv:dddd] [drv=name|none] [group=N]
///   [numa=N] [link=speed/width] [bar=i:size:type,...] [acs=SV,RR,CR,...|none] [ats=on|off|none] [vfs=N]</c>
///   kinds: hostbridge rp usp dsp gpu nvswitch nic ep
///   <c>iommufd on|off</c>, <c>uncore &lt;dddd:bb&gt; &lt;count&gt; [numa=N]</c> (platform functions on a root bus).
/// </summary>
internal sealed class SysfsFixture : IDisposable
{
    private static readonly string[] SpeedText = ["", "2.5 GT/s PCIe", "5.0 GT/s PCIe", "8.0 GT/s PCIe", "16.0 GT/s PCIe", "32.0 GT/s PCIe", "64.0 GT/s PCIe"];

    private SysfsFixture(string root) => Root = root;

    /// <summary>The sysfs root to give the scanner (contains bus/, devices/, kernel/, class/).</summary>
    public string Root { get; }

    public string PciBus => Path.Combine(Root, "bus", "pci");

    public string DeviceDir(string bdf) => Path.GetFullPath(new DirectoryInfo(Path.Combine(PciBus, "devices", bdf)).ResolveLinkTarget(true)!.FullName);

    public static SysfsFixture Build(string description)
    {
        // tmpfs when there is one: a fixture is thousands of tiny files and links, slow on a loaded disk.
        var tmp = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        var root = Path.Combine(tmp, "veil-topo-" + Guid.NewGuid().ToString("N")[..12], "sys");
        var fixture = new SysfsFixture(root);
        fixture.Write(Expand(description, out var iommufd), iommufd);
        return fixture;
    }

    /// <summary>
    /// Writes the tree of <paramref name="description"/> at <paramref name="root"/>, which must not exist yet: for a tree
    /// kept in the repository (testdata/topology), so no cleanup, unlike <see cref="Build"/>.
    /// </summary>
    public static void WriteTree(string description, string root)
    {
        if (Directory.Exists(root) || File.Exists(root))
        {
            throw new IOException($"{root} exists; a tree is written into a new folder only");
        }

        new SysfsFixture(root).Write(Expand(description, out var iommufd), iommufd);
    }

    /// <summary>Replaces exactly one line that starts with <paramref name="prefix"/>; the one-line change the issue asks for.</summary>
    public static string ChangeLine(string description, string prefix, string newLine)
    {
        var lines = description.Split('\n').ToList();
        var hits = lines.FindAll(l => l.TrimStart().StartsWith(prefix, StringComparison.Ordinal));
        if (hits.Count != 1)
        {
            // No xunit here: the benchmark program links these fixture files too.
            throw new ArgumentException($"{hits.Count} fixture lines start with '{prefix}'; exactly one must", nameof(prefix));
        }

        lines[lines.IndexOf(hits[0])] = newLine;
        return string.Join('\n', lines);
    }

    public void Dispose()
    {
        var top = Path.GetDirectoryName(Root)!;
        if (Directory.Exists(top))
        {
            Directory.Delete(top, recursive: true);
        }
    }

    private static List<FixtureDevice> Expand(string description, out bool iommufd)
    {
        iommufd = true;
        var devices = new List<FixtureDevice>();
        foreach (var raw in description.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cols[0] == "iommufd")
            {
                iommufd = cols[1] == "on";
            }
            else if (cols[0] == "uncore")
            {
                var bus = PciAddress.Parse(cols[1] + ":00.0");
                var count = int.Parse(cols[2], CultureInfo.InvariantCulture);
                var numa = cols.Length > 3 ? cols[3] : "numa=0";
                for (var i = 0; i < count; i++)
                {
                    var a = bus with { Device = i / 8, Function = i % 8 };
                    devices.Add(FixtureDevice.Parse($"{a} - ep 8086:{0x3250 + (i % 16):x4} class=0x088000 bar=none {numa}"));
                }
            }
            else
            {
                var d = FixtureDevice.Parse(line);
                devices.Add(d);
                for (var v = 0; v < d.Vfs; v++)
                {
                    var devfn = (d.Address.Device * 8) + d.Address.Function + 2 + v;
                    var vf = d.Address with { Device = devfn / 8, Function = devfn % 8 };
                    devices.Add(FixtureDevice.Parse($"{vf} {(d.Parent is { } p ? p.ToString() : "-")} vf {d.Vendor:x4}:101e") with { Numa = d.Numa, Group = null });
                }
            }
        }

        return devices;
    }

    private void Write(List<FixtureDevice> devices, bool iommufd)
    {
        var byAddr = devices.ToDictionary(d => d.Address);
        var dirs = new Dictionary<PciAddress, string>();
        string DirOf(FixtureDevice d)
        {
            if (dirs.TryGetValue(d.Address, out var known))
            {
                return known;
            }

            var parentDir = d.Parent is { } p
                ? DirOf(byAddr[p])
                : Path.Combine(Root, "devices", $"pci{d.Address.Domain:x4}:{d.Address.Bus:x2}");
            return dirs[d.Address] = Path.Combine(parentDir, d.Address.ToString());
        }

        int? Numa(FixtureDevice d) => d.Numa ?? (d.Parent is { } p ? Numa(byAddr[p]) : 0);

        // Auto groups count 0, 1, 2… in BDF order; group=N joins group N, so a one-line change can put a device into another's group.
        var nextGroup = 0;
        var nextVfio = 0;
        var mmio64 = 0x2000_0000_0000UL;
        var mmio32 = 0x9000_0000UL;
        Directory.CreateDirectory(Path.Combine(PciBus, "devices"));
        Directory.CreateDirectory(Path.Combine(Root, "kernel", "iommu_groups"));
        foreach (var d in devices.OrderBy(d => d.Address))
        {
            var dir = DirOf(d);
            Directory.CreateDirectory(dir);
            Link(Path.Combine(PciBus, "devices", d.Address.ToString()), dir);

            var children = devices.Where(c => c.Parent == d.Address).ToList();
            int? secondary = null, subordinate = null;
            if (d.IsBridge)
            {
                secondary = children.Count > 0 ? children.Min(c => c.Address.Bus) : d.Address.Bus + 1;
                subordinate = Math.Max(secondary.Value, MaxBus(d.Address, devices));
            }

            var addresses = new Dictionary<int, ulong>();
            var resource = new List<string>();
            for (var i = 0; i < (d.IsBridge ? 17 : 13); i++)
            {
                var bar = i < 6 ? d.Bars.FirstOrDefault(b => b.Index == i) : null;
                if (bar is null)
                {
                    resource.Add("0x0000000000000000 0x0000000000000000 0x0000000000000000");
                    continue;
                }

                ref var cursor = ref bar.Is64 ? ref mmio64 : ref mmio32;
                var start = (cursor + bar.Size - 1) / bar.Size * bar.Size;
                cursor = start + bar.Size;
                addresses[i] = start;
                var flags = bar.Io ? 0x40101UL : 0x40200UL | (bar.Is64 ? 0x100004UL : 0) | (bar.Prefetch ? 0x2008UL : 0);
                resource.Add($"0x{start:x16} 0x{start + bar.Size - 1:x16} 0x{flags:x16}");
            }

            File.WriteAllBytes(Path.Combine(dir, "config"), ConfigImage.Build(d, secondary, subordinate, addresses));
            Attr(dir, "resource", string.Join('\n', resource));
            Attr(dir, "vendor", $"0x{d.Vendor:x4}");
            Attr(dir, "device", $"0x{d.DeviceId:x4}");
            Attr(dir, "subsystem_vendor", $"0x{d.SubVendor:x4}");
            Attr(dir, "subsystem_device", $"0x{d.SubDevice:x4}");
            Attr(dir, "class", $"0x{d.Class:x6}");
            Attr(dir, "revision", "0x01");
            Attr(dir, "irq", "0");
            Attr(dir, "numa_node", Numa(d).ToString()!);
            if (secondary is not null)
            {
                Attr(dir, "secondary_bus_number", secondary.Value.ToString(CultureInfo.InvariantCulture));
                Attr(dir, "subordinate_bus_number", subordinate!.Value.ToString(CultureInfo.InvariantCulture));
            }

            if (!d.Conventional)
            {
                Attr(dir, "current_link_speed", SpeedText[d.LinkSpeed]);
                Attr(dir, "current_link_width", d.LinkWidth.ToString(CultureInfo.InvariantCulture));
                Attr(dir, "max_link_speed", SpeedText[d.LinkSpeed]);
                Attr(dir, "max_link_width", d.LinkWidth.ToString(CultureInfo.InvariantCulture));
            }

            if (d.Driver is { } drv)
            {
                var drvDir = Path.Combine(PciBus, "drivers", drv);
                Directory.CreateDirectory(drvDir);
                Link(Path.Combine(dir, "driver"), drvDir);
                Link(Path.Combine(drvDir, d.Address.ToString()), dir);
                if (drv == "vfio-pci" && iommufd)
                {
                    var name = $"vfio{nextVfio++}";
                    var cdev = Path.Combine(dir, "vfio-dev", name);
                    Directory.CreateDirectory(cdev);
                    Attr(cdev, "dev", $"511:{nextVfio - 1}");
                    Directory.CreateDirectory(Path.Combine(Root, "class", "vfio-dev"));
                    Link(Path.Combine(Root, "class", "vfio-dev", name), cdev);
                }
            }

            if (d.Kind != "hostbridge")
            {
                var group = d.Group ?? nextGroup++;
                var groupDir = Path.Combine(Root, "kernel", "iommu_groups", group.ToString(CultureInfo.InvariantCulture));
                Directory.CreateDirectory(Path.Combine(groupDir, "devices"));
                Link(Path.Combine(dir, "iommu_group"), groupDir);
                Link(Path.Combine(groupDir, "devices", d.Address.ToString()), dir);
            }

            if (d.Kind == "vf")
            {
                var pf = devices.Last(p => p.Vfs > 0 && p.Parent == d.Parent && p.Address < d.Address);
                var pfDir = DirOf(pf);
                Link(Path.Combine(dir, "physfn"), pfDir);
                var index = Directory.EnumerateFileSystemEntries(pfDir, "virtfn*").Count();
                Link(Path.Combine(pfDir, $"virtfn{index}"), dir);
            }
        }

        if (iommufd)
        {
            var misc = Path.Combine(Root, "devices", "virtual", "misc", "iommu");
            Directory.CreateDirectory(misc);
            Attr(misc, "dev", "10:123");
            Directory.CreateDirectory(Path.Combine(Root, "class", "misc"));
            Link(Path.Combine(Root, "class", "misc", "iommu"), misc);
        }
    }

    private static int MaxBus(PciAddress bridge, List<FixtureDevice> devices)
    {
        var max = 0;
        foreach (var c in devices.Where(c => c.Parent == bridge))
        {
            max = Math.Max(max, Math.Max(c.Address.Bus, MaxBus(c.Address, devices)));
        }

        return max;
    }

    private static void Attr(string dir, string name, string value) => File.WriteAllText(Path.Combine(dir, name), value + "\n");

    /// <summary>Relative symlinks, as sysfs has them, so the tree can be moved or read through another root.</summary>
    private static void Link(string link, string target) =>
        File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, target));
}
