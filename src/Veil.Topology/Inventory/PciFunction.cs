using Veil.Topology.ConfigSpace;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Inventory;

/// <summary>What a function is for placement purposes.</summary>
public enum DeviceKind
{
    Other,
    Gpu,
    NvSwitch,
    Nic,
    HostBridge,
    RootPort,
    SwitchUpstream,
    SwitchDownstream,
    Bridge,
}

/// <summary>One BAR as the kernel reports it in the <c>resource</c> file.</summary>
public sealed record PciBar(int Index, ulong Start, ulong Size, bool IsIo, bool Is64Bit, bool Prefetchable);

/// <summary>Negotiated and maximum link state from sysfs (<c>current_link_speed</c> etc.).</summary>
public sealed record PciLink(string? Speed, int? Width, string? MaxSpeed, int? MaxWidth);

/// <summary>One PCI function under <c>bus/pci/devices</c>, with everything placement needs.</summary>
public sealed record PciFunction
{
    public required PciAddress Address { get; init; }

    /// <summary>The bridge above it, from the device's real sysfs path; null on a root bus.</summary>
    public PciAddress? Parent { get; init; }

    /// <summary>Real path below the sysfs root, e.g. <c>devices/pci0000:00/0000:00:01.0/0000:01:00.0</c>.</summary>
    public string? DevicePath { get; init; }

    /// <summary>24-bit class code (0x030200 = 3D controller).</summary>
    public uint ClassCode { get; init; }

    public ushort VendorId { get; init; }

    public ushort DeviceId { get; init; }

    public ushort SubsystemVendorId { get; init; }

    public ushort SubsystemDeviceId { get; init; }

    public string? Driver { get; init; }

    public int? IommuGroup { get; init; }

    /// <summary>Null when sysfs says -1 (no affinity) or the file is missing.</summary>
    public int? NumaNode { get; init; }

    /// <summary>For a virtual function: its physical function (<c>physfn</c> link).</summary>
    public PciAddress? PhysicalFunction { get; init; }

    public IReadOnlyList<PciAddress> VirtualFunctions { get; init; } = [];

    public PciLink Link { get; init; } = new(null, null, null, null);

    public IReadOnlyList<PciBar> Bars { get; init; } = [];

    /// <summary>Null when <c>config</c> could not be read at all.</summary>
    public ConfigSpaceInfo? Config { get; init; }

    /// <summary>IOMMUFD character device name (<c>vfio-dev/vfioN</c>) when the function is bound to vfio-pci with cdev support.</summary>
    public string? VfioDevice { get; init; }

    public DeviceKind Kind { get; init; }

    public int BaseClass => (int)(ClassCode >> 16);

    public int ClassAndSubclass => (int)(ClassCode >> 8);

    public PciePortType? PortType => Config?.PortType;

    /// <summary>Bridges (host 0x0600, PCI-PCI 0x0604) are never passed through; Kata skips them in a group.</summary>
    public bool IsBridgeClass => ClassAndSubclass is 0x0600 or 0x0604;

    public ulong LargestBar => Bars.Count == 0 ? 0 : Bars.Max(b => b.Size);
}

/// <summary>A problem found while reading sysfs. The scan goes on; the function is kept with what could be read.</summary>
public sealed record ScanWarning(string Code, string? Device, string Message)
{
    public override string ToString() => Device is null ? $"{Code}: {Message}" : $"{Code} [{Device}]: {Message}";
}

/// <summary>An IOMMU group from <c>kernel/iommu_groups/N/devices</c>.</summary>
public sealed record IommuGroupInfo(int Id, IReadOnlyList<PciAddress> Members);

/// <summary>The host as sysfs describes it.</summary>
public sealed record HostInventory
{
    public required string SysfsRoot { get; init; }

    public required IReadOnlyList<PciFunction> Functions { get; init; }

    public required IReadOnlyList<IommuGroupInfo> IommuGroups { get; init; }

    /// <summary>iommufd is loaded: the kernel registered the <c>iommu</c> misc device (<c>/dev/iommu</c>).</summary>
    public bool IommufdAvailable { get; init; }

    /// <summary>VFIO cdevs exist (<c>class/vfio-dev/vfioN</c> → <c>/dev/vfio/devices/vfioN</c>).</summary>
    public bool VfioCdevsAvailable { get; init; }

    public required IReadOnlyList<ScanWarning> Warnings { get; init; }

    // Built on first lookup; rebuilt if a `with` copy carries a different function list. Keyed by the packed
    // address: a Dictionary<int, …> is compiled ahead of time, a Dictionary<PciAddress, …> is JIT-compiled.
    private (IReadOnlyList<PciFunction> From, Dictionary<int, PciFunction> Map)? _index;

    public PciFunction? Find(PciAddress address)
    {
        if (_index is not { } idx || !ReferenceEquals(idx.From, Functions))
        {
            var map = new Dictionary<int, PciFunction>(Functions.Count);
            foreach (var f in Functions)
            {
                map.TryAdd(f.Address.Key, f);
            }

            _index = idx = (Functions, map);
        }

        if (idx.Map.TryGetValue(address.Key, out var hit) && hit.Address == address)
        {
            return hit;
        }

        // Only an address outside the kernel's field widths can share a key: look it up the slow way.
        foreach (var f in Functions)
        {
            if (f.Address == address)
            {
                return f;
            }
        }

        return null;
    }

    public IEnumerable<PciFunction> ChildrenOf(PciAddress? parent) => Functions.Where(f => f.Parent == parent);

    /// <summary>Ancestors from the closest bridge up to the root port; stops at a repeated address.</summary>
    public IEnumerable<PciFunction> Ancestors(PciFunction f)
    {
        var chain = new List<PciFunction>();
        for (var p = f.Parent; p is { } a && a != f.Address && !chain.Exists(x => x.Address == a) && Find(a) is { } up; p = up.Parent)
        {
            chain.Add(up);
        }

        return chain;
    }
}
