using System.Globalization;
using System.Runtime.ExceptionServices;
using Veil.Topology.ConfigSpace;
using Veil.Topology.Inventory;

namespace Veil.Topology.Sysfs;

/// <summary>
/// Builds a <see cref="HostInventory"/> from a sysfs tree (default <c>/sys</c>). Reads only what the kernel
/// documents in Documentation/ABI/testing/sysfs-bus-pci; a malformed device yields named warnings and as much
/// of the function as could be read.
/// </summary>
public static class SysfsScanner
{
    public const string DefaultRoot = "/sys";

    // Kernel IORESOURCE_* flags as printed in the resource file (include/linux/ioport.h).
    private const ulong IoResourceIo = 0x100;
    private const ulong IoResourcePrefetch = 0x2000;
    private const ulong IoResourceMem64 = 0x100000;

    public static HostInventory Scan(string? sysfsRoot = null) => Scan(sysfsRoot, SysfsBackend.Auto);

    internal static HostInventory Scan(string? sysfsRoot, SysfsBackend backend)
    {
        var root = Path.GetFullPath(string.IsNullOrWhiteSpace(sysfsRoot) ? DefaultRoot : sysfsRoot);
        var devicesPath = Path.Combine(root, "bus", "pci", "devices");
        using var devices = SysfsDir.Open(devicesPath, backend, out _, out _)
            ?? throw new TopologyInputException("--sysfs", $"{devicesPath} does not exist; not a sysfs tree with PCI devices");
        string[] entries;
        try
        {
            entries = [.. devices.Names()];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TopologyInputException("--sysfs", $"{devicesPath} cannot be listed: {e.Message}");
        }

        Array.Sort(entries, StringComparer.Ordinal);
        var warnings = new List<ScanWarning>();
        var functions = new List<PciFunction>();

        // Functions are independent: read them on a few threads (sysfs reads are syscall-bound), merge in BDF
        // order. Plain threads over interleaved indices: a CLI scans once, and Parallel.For's first call (thread
        // pool start, JIT of its generic workers) cost more CPU than the split saved.
        var read = new (PciFunction? Function, List<ScanWarning> Warnings)[entries.Length];
        void ReadEvery(int first, int step)
        {
            for (var i = first; i < entries.Length; i += step)
            {
                var mine = new List<ScanWarning>();
                read[i] = PciAddress.TryParse(entries[i], out var address)
                    ? (ReadFunction(root, devicesPath, devices, entries[i], address, mine), mine)
                    : (null, [new ScanWarning("unparsable-name", entries[i], "not a PCI address; skipped")]);
            }
        }

        var threads = Math.Clamp(Math.Min(Environment.ProcessorCount, entries.Length / 32), 1, 4);
        var helpers = new Thread[threads - 1];
        var failures = new ExceptionDispatchInfo?[threads - 1];
        for (var t = 1; t < threads; t++)
        {
            var slot = t - 1;
            helpers[slot] = new Thread(() =>
            {
                // A bug in a helper must surface to the caller as it would on the calling thread, not end the process.
                try
                {
                    ReadEvery(slot + 1, threads);
                }
                catch (Exception e)
                {
                    failures[slot] = ExceptionDispatchInfo.Capture(e);
                }
            })
            { IsBackground = true, Name = "sysfs-scan" };
            helpers[slot].Start();
        }

        try
        {
            ReadEvery(0, threads);
        }
        finally
        {
            // The helpers use the devices handle: never leave it (disposed on return) to them.
            foreach (var h in helpers)
            {
                h.Join();
            }
        }

        foreach (var f in failures)
        {
            f?.Throw();
        }

        foreach (var (function, mine) in read)
        {
            warnings.AddRange(mine);
            if (function is not null)
            {
                functions.Add(function);
            }
        }

        var groups = ReadIommuGroups(root, backend, warnings);
        var vfioDev = Path.Combine(root, "class", "vfio-dev");
        return new HostInventory
        {
            SysfsRoot = root,
            Functions = functions,
            IommuGroups = groups,
            IommufdAvailable = Path.Exists(Path.Combine(root, "class", "misc", "iommu")),
            VfioCdevsAvailable = Directory.Exists(vfioDev) && Directory.EnumerateFileSystemEntries(vfioDev).Any(),
            Warnings = warnings,
        };
    }

    private static PciFunction ReadFunction(string root, string devicesPath, SysfsDir devices, string name, PciAddress address, List<ScanWarning> warnings)
    {
        var device = address.ToString();
        var (dir, devicePath, parent) = OpenDevice(root, devicesPath, devices, name, device, warnings);
        var fn = new PciFunction { Address = address, DevicePath = devicePath, Parent = parent };
        if (dir is null)
        {
            return fn;
        }

        using (dir)
        {
            return ReadAttributes(fn, new SysfsAttributes(dir, device, warnings));
        }
    }

    private static PciFunction ReadAttributes(PciFunction fn, SysfsAttributes a)
    {
        var config = a.Bytes("config", 4096);
        ConfigSpaceInfo? cfg = null;
        if (config is not null)
        {
            if (config.Length is not (64 or 256 or 4096))
            {
                a.Warn("truncated-config", $"config is {config.Length} bytes (expected 256 or 4096); capabilities past the end are unknown");
            }
            else if (config.Length == 64)
            {
                a.Warn("config-header-only", "only the 64-byte header is readable (unprivileged read): no port type, ACS or ATS");
            }

            cfg = ConfigSpaceParser.Parse(config);
            foreach (var p in cfg.Problems)
            {
                a.Warn("config-capability", p);
            }
        }

        var numa = a.Int("numa_node", required: false);
        var group = a.LinkName("iommu_group");
        fn = fn with
        {
            VendorId = (ushort)(a.Hex("vendor", 0xFFFF) ?? 0),
            DeviceId = (ushort)(a.Hex("device", 0xFFFF) ?? 0),
            SubsystemVendorId = (ushort)(a.Hex("subsystem_vendor", 0xFFFF, required: false) ?? 0),
            SubsystemDeviceId = (ushort)(a.Hex("subsystem_device", 0xFFFF, required: false) ?? 0),
            ClassCode = a.Hex("class", 0xFFFFFF) ?? 0,
            NumaNode = numa is >= 0 ? numa : null,
            Driver = a.LinkName("driver"),
            IommuGroup = group is null ? null : ParseGroup(group, a),
            PhysicalFunction = ReadAddressLink(a, "physfn"),
            VirtualFunctions = ReadVirtualFunctions(a),
            Link = ReadLink(a, cfg),
            Bars = ReadBars(a),
            Config = cfg,
            VfioDevice = a.Has("vfio-dev") ? ReadVfioDevice(a.Dir) : null,
        };
        return fn with { Kind = Classifier.Classify(fn) };
    }

    /// <summary>
    /// bus/pci/devices/X is a symlink into devices/pciDDDD:BB/…; the path's bridges are the device's ancestors.
    /// The device path is the link text resolved against bus/pci/devices (sysfs links are one hop), and the
    /// directory is opened through the link, which is where a dangling or looping link shows.
    /// </summary>
    private static (SysfsDir? Dir, string? DevicePath, PciAddress? Parent) OpenDevice(
        string root, string devicesPath, SysfsDir devices, string name, string device, List<ScanWarning> warnings)
    {
        var link = devices.ReadLink(name, out var error, out var detail);
        if (link is null && error != FsError.NotALink)
        {
            warnings.Add(new ScanWarning(error == FsError.Loop ? "link-loop" : "unreadable", device, $"bus/pci/devices/{device}: {detail}"));
            return (null, null, null);
        }

        var dir = devices.OpenDir(name, out error, out detail);
        if (dir is null)
        {
            warnings.Add(error switch
            {
                FsError.Loop => new ScanWarning("link-loop", device, $"bus/pci/devices/{device}: {detail}"),
                FsError.NotFound or FsError.NotADirectory => new ScanWarning("dangling-link", device, $"bus/pci/devices/{device} points to {link}, which does not exist"),
                _ => new ScanWarning("unreadable", device, $"bus/pci/devices/{device}: {detail}"),
            });
            return (null, null, null);
        }

        if (link is null)
        {
            warnings.Add(new ScanWarning("not-a-link", device, "bus/pci/devices entry is not a symlink; parent unknown"));
            return (dir, null, null);
        }

        var real = Path.GetFullPath(Path.Combine(devicesPath, link));
        var relative = Path.GetRelativePath(root, real).Replace('\\', '/');
        var parts = relative.Split('/');
        if (parts.Length < 3 || parts[0] != "devices" || parts[^1] != device)
        {
            warnings.Add(new ScanWarning("odd-device-path", device, $"real path {relative} is not devices/pciDDDD:BB/…/{device}"));
            return (dir, relative, null);
        }

        PciAddress? parent = PciAddress.TryParse(parts[^2], out var p) ? p : null;
        if (Array.IndexOf(parts, device) != parts.Length - 1)
        {
            warnings.Add(new ScanWarning("link-loop", device, $"real path {relative} contains the device twice"));
            parent = null;
        }

        return (dir, relative, parent);
    }

    private static readonly string[] SpeedText = ["", "2.5 GT/s PCIe", "5.0 GT/s PCIe", "8.0 GT/s PCIe", "16.0 GT/s PCIe", "32.0 GT/s PCIe", "64.0 GT/s PCIe"];

    /// <summary>
    /// Link state from the PCIe capability (LNKSTA/LNKCAP, what current_link_* and max_link_* are made from,
    /// in the kernel's wording); sysfs files only when the capability could not be read. Saves four opens a function.
    /// </summary>
    private static PciLink ReadLink(SysfsAttributes a, ConfigSpaceInfo? cfg)
    {
        if (cfg is { LinkSpeed: { } s and > 0 and < 7, LinkWidth: { } w, LinkCapSpeed: { } cs and > 0 and < 7, LinkCapWidth: { } cw })
        {
            return new PciLink(SpeedText[s], w, SpeedText[cs], cw);
        }

        return new PciLink(a.Text("current_link_speed", false), a.Int("current_link_width", false), a.Text("max_link_speed", false), a.Int("max_link_width", false));
    }

    private static int? ParseGroup(string text, SysfsAttributes a)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var g))
        {
            return g;
        }

        a.Warn("bad-value", $"iommu_group points to '{text}', not a group number");
        return null;
    }

    private static PciAddress? ReadAddressLink(SysfsAttributes a, string name)
    {
        var target = a.LinkName(name);
        return PciAddress.TryParse(target, out var addr) ? addr : null;
    }

    private static List<PciAddress> ReadVirtualFunctions(SysfsAttributes a)
    {
        var vfs = new List<PciAddress>();
        foreach (var link in a.Names.Where(n => n.StartsWith("virtfn", StringComparison.Ordinal)))
        {
            if (ReadAddressLink(a, link) is { } vf)
            {
                vfs.Add(vf);
            }
        }

        PciAddress.Sort(vfs);
        return vfs;
    }

    private static List<PciBar> ReadBars(SysfsAttributes a)
    {
        var bars = new List<PciBar>();
        var text = a.Text("resource");
        if (text is null)
        {
            return bars;
        }

        var lines = text.Split('\n');
        for (var i = 0; i < Math.Min(6, lines.Length); i++)
        {
            var cols = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (cols.Length != 3 || !TryHex64(cols[0], out var start) || !TryHex64(cols[1], out var end) || !TryHex64(cols[2], out var flags))
            {
                a.Warn("bad-value", $"resource line {i + 1} is not 'start end flags'");
                break;
            }

            if (end > start)
            {
                bars.Add(new PciBar(i, start, end - start + 1, (flags & IoResourceIo) != 0, (flags & IoResourceMem64) != 0, (flags & IoResourcePrefetch) != 0));
            }
        }

        return bars;
    }

    private static string? ReadVfioDevice(SysfsDir dir)
    {
        using var vfio = dir.OpenDir("vfio-dev", out _, out _);
        string? first = null;
        try
        {
            foreach (var name in vfio?.Names() ?? [])
            {
                if (name.StartsWith("vfio", StringComparison.Ordinal) && (first is null || string.CompareOrdinal(name, first) < 0))
                {
                    first = name;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return first;
    }

    private static List<IommuGroupInfo> ReadIommuGroups(string root, SysfsBackend backend, List<ScanWarning> warnings)
    {
        var groups = new List<IommuGroupInfo>();
        using var dir = SysfsDir.Open(Path.Combine(root, "kernel", "iommu_groups"), backend, out _, out _);
        if (dir is null)
        {
            warnings.Add(new ScanWarning("no-iommu-groups", null, "kernel/iommu_groups is missing: the IOMMU is off, no device can be passed through"));
            return groups;
        }

        try
        {
            foreach (var name in dir.Names())
            {
                if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    continue;
                }

                var members = new List<PciAddress>();
                using var devs = dir.OpenDir(name + "/devices", out _, out _);
                foreach (var m in devs?.Names() ?? [])
                {
                    if (PciAddress.TryParse(m, out var addr))
                    {
                        members.Add(addr);
                    }
                }

                PciAddress.Sort(members);
                groups.Add(new IommuGroupInfo(id, members));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warnings.Add(new ScanWarning("unreadable", null, $"kernel/iommu_groups: {e.Message}"));
        }

        groups.Sort((x, y) => x.Id.CompareTo(y.Id));
        return groups;
    }

    private static bool TryHex64(string s, out ulong v) =>
        ulong.TryParse(s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out v);
}
