using Veil.Topology.ConfigSpace;

namespace Veil.Topology.Inventory;

/// <summary>Vendor/class/port-type rules; ids from docs/research/kata-gpu-topology.md §5.</summary>
internal static class Classifier
{
    public const ushort Nvidia = 0x10DE;
    public const ushort Mellanox = 0x15B3;

    public static DeviceKind Classify(PciFunction f)
    {
        if (f.ClassAndSubclass == 0x0600)
        {
            return DeviceKind.HostBridge;
        }

        switch (f.PortType)
        {
            case PciePortType.RootPort:
                return DeviceKind.RootPort;
            case PciePortType.SwitchUpstream:
                return DeviceKind.SwitchUpstream;
            case PciePortType.SwitchDownstream:
                return DeviceKind.SwitchDownstream;
            default:
                break;
        }

        if (f.VendorId == Nvidia && f.ClassAndSubclass is 0x0302 or 0x0300)
        {
            return DeviceKind.Gpu;
        }

        if (f.VendorId == Nvidia && f.ClassAndSubclass == 0x0680)
        {
            return DeviceKind.NvSwitch;
        }

        if (f.VendorId == Mellanox && f.BaseClass == 0x02)
        {
            return DeviceKind.Nic;
        }

        return f.ClassAndSubclass == 0x0604 ? DeviceKind.Bridge : DeviceKind.Other;
    }
}
