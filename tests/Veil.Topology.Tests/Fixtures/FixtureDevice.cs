using System.Globalization;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Tests.Fixtures;

/// <summary>One line of a fixture description, parsed. See <see cref="SysfsFixture"/> for the syntax.</summary>
internal sealed record FixtureDevice
{
    public required PciAddress Address { get; init; }

    public PciAddress? Parent { get; init; }

    public required string Kind { get; init; }

    public required ushort Vendor { get; init; }

    public required ushort DeviceId { get; init; }

    public required uint Class { get; init; }

    public ushort SubVendor { get; init; }

    public ushort SubDevice { get; init; }

    public string? Driver { get; init; }

    public int? Group { get; init; }

    public int? Numa { get; init; }

    public required int LinkSpeed { get; init; }

    public required int LinkWidth { get; init; }

    public required IReadOnlyList<FixtureBar> Bars { get; init; }

    public ushort? AcsControl { get; init; }

    /// <summary>"on", "off" (capability present, Enable-) or null (no capability).</summary>
    public string? Ats { get; init; }

    public int Vfs { get; init; }

    /// <summary>Conventional PCI (256-byte config, no PCIe capability).</summary>
    public bool Conventional => Kind == "hostbridge" || (Kind == "ep" && LinkSpeed == 0);

    public bool IsBridge => Kind is "rp" or "usp" or "dsp";

    public int PortTypeCode => Kind switch
    {
        "rp" => 4,
        "usp" => 5,
        "dsp" => 6,
        _ => 0,
    };

    public static FixtureDevice Parse(string line)
    {
        var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (cols.Length < 4)
        {
            throw new FormatException($"fixture line needs '<bdf> <parent|-> <kind> <vendor:device> [key=value...]': {line}");
        }

        var kind = cols[2];
        var ids = cols[3].Split(':');
        var kv = cols.Skip(4).Select(c => c.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        var (cls, driver, bars, ats, speed, width) = Defaults(kind);
        if (kv.TryGetValue("link", out var link))
        {
            var lw = link.Split('/');
            (speed, width) = (int.Parse(lw[0], CultureInfo.InvariantCulture), int.Parse(lw[1], CultureInfo.InvariantCulture));
        }

        ushort? acs = kind switch { "rp" => 0x1d, "dsp" => 0x11, _ => null };
        if (kv.TryGetValue("acs", out var acsText))
        {
            acs = acsText == "none" ? null : AcsBits(acsText);
        }

        var sub = kv.TryGetValue("sub", out var s) ? s.Split(':') : [ids[0], "0000"];
        return new FixtureDevice
        {
            Address = PciAddress.Parse(cols[0]),
            Parent = cols[1] == "-" ? null : PciAddress.Parse(cols[1]),
            Kind = kind,
            Vendor = Hex16(ids[0]),
            DeviceId = Hex16(ids[1]),
            Class = kv.TryGetValue("class", out var c) ? uint.Parse(c.Replace("0x", "", StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture) : cls,
            SubVendor = Hex16(sub[0]),
            SubDevice = Hex16(sub[1]),
            Driver = kv.TryGetValue("drv", out var d) ? (d == "none" ? null : d) : driver,
            Group = kv.TryGetValue("group", out var g) ? int.Parse(g, CultureInfo.InvariantCulture) : null,
            Numa = kv.TryGetValue("numa", out var n) ? int.Parse(n, CultureInfo.InvariantCulture) : null,
            LinkSpeed = speed,
            LinkWidth = width,
            Bars = kv.TryGetValue("bar", out var b) ? FixtureBar.ParseList(b) : bars,
            AcsControl = acs,
            Ats = kv.TryGetValue("ats", out var a) ? (a == "none" ? null : a) : ats,
            Vfs = kv.TryGetValue("vfs", out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : 0,
        };
    }

    private static (uint Class, string? Driver, IReadOnlyList<FixtureBar> Bars, string? Ats, int Speed, int Width) Defaults(string kind) => kind switch
    {
        "hostbridge" => (0x060000, null, [], null, 0, 0),
        "rp" or "usp" or "dsp" => (0x060400, "pcieport", [], null, 5, 16),
        "gpu" => (0x030200, "vfio-pci", FixtureBar.ParseList("0:16M:m64,2:128G:p64,4:32M:p64"), null, 5, 16),
        "nvswitch" => (0x068000, "vfio-pci", FixtureBar.ParseList("0:32M:m64"), null, 4, 2),
        "nic" => (0x020700, "mlx5_core", FixtureBar.ParseList("0:32M:p64"), "on", 5, 16),
        "vf" => (0x020700, "mlx5_core", FixtureBar.ParseList("0:1M:p64"), "on", 5, 16),
        "ep" => (0x088000, null, FixtureBar.ParseList("0:64K:m32"), null, 0, 0),
        _ => throw new FormatException($"unknown fixture kind '{kind}'"),
    };

    private static ushort AcsBits(string names)
    {
        ushort bits = 0;
        foreach (var n in names.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            bits |= n switch
            {
                "SV" => 0x01,
                "TB" => 0x02,
                "RR" => 0x04,
                "CR" => 0x08,
                "UF" => 0x10,
                "EC" => 0x20,
                "DT" => 0x40,
                "0" => 0,
                _ => throw new FormatException($"unknown ACS bit '{n}'"),
            };
        }

        return bits;
    }

    private static ushort Hex16(string s) => ushort.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}

/// <summary>A BAR in a fixture: index, size, and type (m32, m64, p32, p64, io).</summary>
internal sealed record FixtureBar(int Index, ulong Size, bool Is64, bool Prefetch, bool Io)
{
    public static IReadOnlyList<FixtureBar> ParseList(string text) =>
        text.Length == 0 || text == "none" ? [] : text.Split(',').Select(Parse).ToList();

    private static FixtureBar Parse(string spec)
    {
        var p = spec.Split(':');
        var num = ulong.Parse(p[1][..^1], CultureInfo.InvariantCulture);
        var size = p[1][^1] switch
        {
            'K' => num << 10,
            'M' => num << 20,
            'G' => num << 30,
            _ => throw new FormatException($"BAR size needs K, M or G: {spec}"),
        };
        return new FixtureBar(int.Parse(p[0], CultureInfo.InvariantCulture), size, p[2].EndsWith("64", StringComparison.Ordinal), p[2].StartsWith('p'), p[2] == "io");
    }
}
