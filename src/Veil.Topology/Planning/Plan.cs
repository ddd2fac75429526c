using Veil.Topology.Sysfs;

namespace Veil.Topology.Planning;

public enum Severity
{
    Info,
    Warning,
    Error,
}

/// <summary>A finding with a stable code, the device it is about, and what to do.</summary>
public sealed record Diagnostic(string Code, Severity Severity, string? Device, string Message, string Remedy);

/// <summary>Why a device is passed: requested GPU, its NIC, an NVSwitch, or a member of a group that must go whole.</summary>
public enum PassRole
{
    Gpu,
    Nic,
    NvSwitch,
    GroupMember,
}

public sealed record PassedDevice(
    PciAddress Address,
    PassRole Role,
    ushort VendorId,
    ushort DeviceId,
    uint ClassCode,
    int? IommuGroup,
    int? NumaNode,
    string? VfioDevice,
    string? Driver,
    PciAddress? HostSwitch,
    bool IsPcie,
    ulong Mmio64Bytes,
    string? LinkSpeed,
    int? LinkWidth);

/// <summary>A member of a chosen device's IOMMU group that was not asked for: it must be bound to vfio-pci too.</summary>
public sealed record GroupBlocker(int Group, PciAddress Member, PciAddress BlockedDevice, string? Driver, uint ClassCode);

public enum GuestPortKind
{
    RootPort,
    SwitchDownstreamPort,
}

/// <summary>Where one passed device sits in the guest, with the guest address it is expected to enumerate at.</summary>
public sealed record GuestPort(string Name, GuestPortKind Kind, int? Switch, PciAddress HostDevice, PciAddress GuestAddress);

/// <summary>An emulated switch mirroring one host switch: a root port, an upstream port, downstream ports.</summary>
public sealed record EmulatedSwitch(int Index, PciAddress HostSwitch, string RootPort, string UpstreamPort, PciAddress GuestUpstream, IReadOnlyList<string> DownstreamPorts);

public sealed record GuestLayout(PlacementMode Mode, int RootPorts, int SwitchPorts, IReadOnlyList<EmulatedSwitch> Switches, IReadOnlyList<GuestPort> Ports);

/// <summary>Devices per host NUMA node and what to pin there.</summary>
public sealed record NumaAdvice(int? HostNode, int GuestNode, IReadOnlyList<PciAddress> Gpus, IReadOnlyList<PciAddress> Nics, string Advice);

public sealed record Plan
{
    public required PlanRequest Request { get; init; }

    public required IReadOnlyList<PassedDevice> Devices { get; init; }

    public required IReadOnlyList<GroupBlocker> Blockers { get; init; }

    public required GuestLayout Layout { get; init; }

    public required IReadOnlyList<NumaAdvice> Numa { get; init; }

    public required IReadOnlyList<Diagnostic> Diagnostics { get; init; }

    public required bool Iommufd { get; init; }

    /// <summary>Sum of the 64-bit BARs of passed devices: what the guest firmware must map above 4 GiB.</summary>
    public required ulong Mmio64Bytes { get; init; }

    public bool HasErrors => Diagnostics.Any(d => d.Severity == Severity.Error);

    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<PassedDevice> Gpus => Devices.Where(d => d.Role == PassRole.Gpu);
}
