using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Veil.Topology.Tests.Pciutils;

/// <summary>What Debian's lspci (pciutils) says about one function in <c>-vv</c> mode.</summary>
internal sealed record LspciDevice(
    string Address,
    string? PortType,
    string? AcsCtl,
    bool? AtsEnabled,
    int? IommuGroup,
    string? Driver,
    int? NumaNode,
    IReadOnlyDictionary<int, ulong> RegionSizes,
    (int Secondary, int Subordinate)? Buses,
    string? LinkStatus);

/// <summary>Runs lspci against a fake sysfs root with the linux-sysfs access method and parses its output.</summary>
internal static partial class Lspci
{
    public static string Run(string sysfsRoot, params string[] args)
    {
        var psi = new ProcessStartInfo("lspci") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-A", "linux-sysfs", "-O", $"sysfs.path={Path.Combine(sysfsRoot, "bus", "pci")}", .. args])
        {
            psi.ArgumentList.Add(a);
        }

        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("lspci is not installed: run ./scripts/prereqs (Debian package pciutils)", e);
        }

        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"lspci {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
            return stdout;
        }
    }

    public static Dictionary<string, LspciDevice> Verbose(string sysfsRoot)
    {
        var result = new Dictionary<string, LspciDevice>();
        foreach (var block in Run(sysfsRoot, "-vv", "-D").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var head = HeadRegex().Match(block);
            if (!head.Success)
            {
                continue;
            }

            var regions = new Dictionary<int, ulong>();
            foreach (Match m in RegionRegex().Matches(block))
            {
                regions[int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = Size(m.Groups[2].Value, m.Groups[3].Value);
            }

            var bus = BusRegex().Match(block);
            result[head.Groups[1].Value] = new LspciDevice(
                head.Groups[1].Value,
                ExpressRegex().Match(block) is { Success: true } e ? e.Groups[1].Value : null,
                AcsRegex().Match(block) is { Success: true } a ? a.Groups[1].Value.Trim() : null,
                AtsRegex().Match(block) is { Success: true } t ? t.Groups[1].Value == "+" : null,
                Int(GroupRegex().Match(block)),
                DriverRegex().Match(block) is { Success: true } d ? d.Groups[1].Value.Trim() : null,
                Int(NumaRegex().Match(block)),
                regions,
                bus.Success ? (Hex(bus.Groups[1].Value), Hex(bus.Groups[2].Value)) : null,
                LnkStaRegex().Match(block) is { Success: true } l ? l.Groups[1].Value : null);
        }

        return result;
    }

    /// <summary><c>-PP</c>: each function named by its path of bridges from the root bus, e.g. 0000:18:01.0/19:00.0/1a:00.0/1b:00.0.</summary>
    public static Dictionary<string, string[]> Paths(string sysfsRoot)
    {
        var result = new Dictionary<string, string[]>();
        foreach (var line in Run(sysfsRoot, "-PP", "-D").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = line.Split(' ')[0].Split('/');
            var domain = path[0][..4];
            var full = path.Select((p, i) => i == 0 ? p : $"{domain}:{p}").ToArray();
            result[full[^1]] = full;
        }

        return result;
    }

    private static int? Int(Match m) => m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    private static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static ulong Size(string n, string unit) => ulong.Parse(n, CultureInfo.InvariantCulture) << unit switch
    {
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => 0,
    };

    [GeneratedRegex(@"^([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) ")]
    private static partial Regex HeadRegex();

    [GeneratedRegex(@"Region (\d): .*\[size=(\d+)([KMGT]?)\]")]
    private static partial Regex RegionRegex();

    [GeneratedRegex(@"Express \(v\d\) ([A-Za-z ]+?)(?: \(Slot[+-]\))?, MSI")]
    private static partial Regex ExpressRegex();

    [GeneratedRegex(@"ACSCtl:\s+(.+)")]
    private static partial Regex AcsRegex();

    [GeneratedRegex(@"ATSCtl:\s+Enable([+-])")]
    private static partial Regex AtsRegex();

    [GeneratedRegex(@"IOMMU group: (\d+)")]
    private static partial Regex GroupRegex();

    [GeneratedRegex(@"Kernel driver in use: (.+)")]
    private static partial Regex DriverRegex();

    [GeneratedRegex(@"NUMA node: (\d+)")]
    private static partial Regex NumaRegex();

    [GeneratedRegex(@"Bus: primary=[0-9a-f]{2}, secondary=([0-9a-f]{2}), subordinate=([0-9a-f]{2})")]
    private static partial Regex BusRegex();

    [GeneratedRegex(@"LnkSta:\s+Speed ([0-9.]+GT/s[^,]*, Width x\d+)")]
    private static partial Regex LnkStaRegex();
}
