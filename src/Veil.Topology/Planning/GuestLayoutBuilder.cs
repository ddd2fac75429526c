using Veil.Topology.Sysfs;

namespace Veil.Topology.Planning;

/// <summary>
/// Decides the guest's PCIe ports. Guest addresses assume the guest assigns bus numbers depth-first in port
/// order (Linux with pci=assign-busses, as Kata's NVIDIA kernel command line sets): root port i's first free
/// bus, an emulated switch's upstream port on bus n, its downstream ports on n+1, their devices on n+2….
/// </summary>
internal static class GuestLayoutBuilder
{
    public static GuestLayout Build(IReadOnlyList<PassedDevice> passed, PlacementMode mode)
    {
        // Requested devices before group members, each by host address.
        var devices = StableSort.InPlace(new List<PassedDevice>(passed), static (a, b) =>
            (a.Role == PassRole.GroupMember) != (b.Role == PassRole.GroupMember) ? (a.Role == PassRole.GroupMember ? 1 : -1) : a.Address.CompareTo(b.Address));
        var ports = new List<GuestPort>();
        var switches = new List<EmulatedSwitch>();
        var nextBus = 1;
        var rootPorts = 0;

        if (mode == PlacementMode.Flatten)
        {
            foreach (var d in devices)
            {
                ports.Add(new GuestPort($"rp{rootPorts++}", GuestPortKind.RootPort, null, d.Address, new PciAddress(0, nextBus++, 0, 0)));
            }

            return new GuestLayout(mode, rootPorts, 0, switches, ports);
        }

        // Replicate: devices keep their host switch; devices without one go on root ports, as on the host.
        var bySwitch = new List<List<PassedDevice>>();
        foreach (var d in devices)
        {
            if (d.HostSwitch is { } hs)
            {
                var group = bySwitch.Find(g => g[0].HostSwitch == hs);
                if (group is null)
                {
                    bySwitch.Add(group = []);
                }

                group.Add(d);
            }
        }

        StableSort.InPlace(bySwitch, static (a, b) => a[0].HostSwitch!.Value.CompareTo(b[0].HostSwitch!.Value));
        var switchPorts = 0;
        foreach (var group in bySwitch)
        {
            var index = switches.Count;
            var rp = $"rp{rootPorts++}";
            var upBus = nextBus;
            var dspBus = upBus + 1;
            nextBus = dspBus + 1;
            var dsps = new List<string>();
            var slot = 0;
            foreach (var d in StableSort.InPlace(group, static (a, b) => a.Address.CompareTo(b.Address)))
            {
                var name = $"swdp{index}_{slot}";
                dsps.Add(name);
                ports.Add(new GuestPort(name, GuestPortKind.SwitchDownstreamPort, index, d.Address, new PciAddress(0, nextBus++, 0, 0)));
                slot++;
                switchPorts++;
            }

            switches.Add(new EmulatedSwitch(index, group[0].HostSwitch!.Value, rp, $"swup{index}", new PciAddress(0, upBus, 0, 0), dsps));
        }

        foreach (var d in devices.Where(d => d.HostSwitch is null))
        {
            ports.Add(new GuestPort($"rp{rootPorts++}", GuestPortKind.RootPort, null, d.Address, new PciAddress(0, nextBus++, 0, 0)));
        }

        return new GuestLayout(mode, rootPorts, switchPorts, switches, ports);
    }
}
