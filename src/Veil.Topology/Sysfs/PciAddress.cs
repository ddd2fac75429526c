using System.Globalization;

namespace Veil.Topology.Sysfs;

/// <summary>A PCI function address as sysfs names it: <c>DDDD:BB:DD.F</c> (domain, bus, device, function).</summary>
public readonly record struct PciAddress(int Domain, int Bus, int Device, int Function) : IComparable<PciAddress>
{
    public static PciAddress Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not a PCI address (DDDD:BB:DD.F)");

    /// <summary>Accepts the kernel's form <c>0000:15:00.0</c> and the short <c>15:00.0</c> (domain 0).</summary>
    public static bool TryParse(string? text, out PciAddress address)
    {
        address = default;
        if (string.IsNullOrEmpty(text) || text.Length > 16)
        {
            return false;
        }

        var parts = text.Split(':');
        string dom = "0", bus, rest;
        if (parts.Length == 3)
        {
            (dom, bus, rest) = (parts[0], parts[1], parts[2]);
        }
        else if (parts.Length == 2)
        {
            (bus, rest) = (parts[0], parts[1]);
        }
        else
        {
            return false;
        }

        var dot = rest.Split('.');
        if (dot.Length != 2 || dom.Length is 0 or > 4 || bus.Length is 0 or > 2 || dot[0].Length is 0 or > 2 || dot[1].Length != 1)
        {
            return false;
        }

        if (!Hex(dom, out var d) || !Hex(bus, out var b) || !Hex(dot[0], out var dev) || !Hex(dot[1], out var fn) || dev > 0x1f || fn > 7)
        {
            return false;
        }

        address = new PciAddress(d, b, dev, fn);
        return true;
    }

    public int CompareTo(PciAddress other) =>
        Domain != other.Domain ? Domain.CompareTo(other.Domain)
        : Bus != other.Bus ? Bus.CompareTo(other.Bus)
        : Device != other.Device ? Device.CompareTo(other.Device)
        : Function.CompareTo(other.Function);

    /// <summary>
    /// The address packed as the kernel's fields allow (domain 16 bits, bus 8, device 5, function 3): a lookup
    /// key, unique for every address <see cref="TryParse"/> accepts. Lookups by it still compare the address.
    /// </summary>
    internal int Key => (Domain << 16) | ((Bus & 0xFF) << 8) | ((Device & 0x1F) << 3) | (Function & 0x7);

    /// <summary>
    /// Sorts in place. Lists here are a group's members or a PF's VFs (a handful); an insertion sort of our own
    /// is compiled ahead of time, where List&lt;PciAddress&gt;.Sort would be JIT-compiled on a CLI run's first call.
    /// </summary>
    internal static void Sort(List<PciAddress> list)
    {
        for (var i = 1; i < list.Count; i++)
        {
            var x = list[i];
            var j = i - 1;
            while (j >= 0 && list[j].CompareTo(x) > 0)
            {
                list[j + 1] = list[j];
                j--;
            }

            list[j + 1] = x;
        }
    }

    public static bool operator <(PciAddress left, PciAddress right) => left.CompareTo(right) < 0;

    public static bool operator >(PciAddress left, PciAddress right) => left.CompareTo(right) > 0;

    public static bool operator <=(PciAddress left, PciAddress right) => left.CompareTo(right) <= 0;

    public static bool operator >=(PciAddress left, PciAddress right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Domain:x4}:{Bus:x2}:{Device:x2}.{Function:x1}";

    private static bool Hex(string s, out int value) =>
        int.TryParse(s, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
}
