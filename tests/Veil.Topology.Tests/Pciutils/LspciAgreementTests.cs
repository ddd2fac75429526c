using System.Text.RegularExpressions;
using Veil.Topology.ConfigSpace;
using Veil.Topology.Inventory;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Topology.Tests.Pciutils;

/// <summary>
/// Each fixture must read as a real machine to Debian's pciutils (scripts/prereqs installs it): lspci shows the
/// same tree (-tvv drawing and -PP bridge paths), port types, ACS/ATS control bits, IOMMU groups, BAR sizes,
/// NUMA nodes and drivers (-vv) that Veil reports.
/// </summary>
public partial class LspciAgreementTests
{
    public static TheoryData<string> Fixtures => new() { "hgx", "lenovo", "single" };

    private static string Description(string name) => name switch
    {
        "hgx" => Topologies.HgxH100,
        "lenovo" => Topologies.Lenovo4Gpu,
        _ => Topologies.SingleGpu,
    };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Lspci_verbose_agrees_with_veil_on_every_function(string fixture)
    {
        using var fx = SysfsFixture.Build(Description(fixture));
        var inv = SysfsScanner.Scan(fx.Root);
        var lspci = Lspci.Verbose(fx.Root);

        Assert.Equal(inv.Functions.Select(f => f.Address.ToString()).Order(), lspci.Keys.Order());

        // The comparison below must compare something: lspci did print each kind of field.
        Assert.Contains(lspci.Values, l => l.AcsCtl is not null);
        Assert.Contains(lspci.Values, l => l.PortType == "Root Port");
        Assert.Contains(lspci.Values, l => l.Driver == "vfio-pci");
        Assert.Contains(lspci.Values, l => l.IommuGroup is not null);
        Assert.Contains(lspci.Values, l => l.RegionSizes.Values.Any(s => s >= 16UL << 20));
        Assert.Contains(lspci.Values, l => l.LinkStatus is not null);
        foreach (var f in inv.Functions)
        {
            var l = lspci[f.Address.ToString()];
            var where = f.Address.ToString();
            Assert.True(PortName(f.PortType) == l.PortType, $"{where}: port type veil={f.PortType} lspci={l.PortType}");
            Assert.True((f.Config?.Acs is { } acs ? AcsCapability.Describe(acs.Control) : null) == l.AcsCtl, $"{where}: ACSCtl lspci={l.AcsCtl}");
            Assert.True(f.Config?.Ats?.Enabled == l.AtsEnabled, $"{where}: ATS veil={f.Config?.Ats?.Enabled} lspci={l.AtsEnabled}");
            Assert.True(f.IommuGroup == l.IommuGroup, $"{where}: group veil={f.IommuGroup} lspci={l.IommuGroup}");
            Assert.True(f.Driver == l.Driver, $"{where}: driver veil={f.Driver} lspci={l.Driver}");
            Assert.True(f.NumaNode == l.NumaNode, $"{where}: numa veil={f.NumaNode} lspci={l.NumaNode}");
            Assert.Equal(f.Bars.ToDictionary(b => b.Index, b => b.Size), l.RegionSizes);
            if (f.Config is { HeaderType: 1 } c)
            {
                Assert.Equal((c.SecondaryBus!.Value, c.SubordinateBus!.Value), l.Buses);
            }

            if (f.Link.Speed is { } speed && f.Config?.LinkSpeed is not null)
            {
                Assert.Equal($"{speed.Split(' ')[0].Replace(".0", "", StringComparison.Ordinal)}GT/s, Width x{f.Link.Width}", l.LinkStatus);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Lspci_tree_agrees_with_veil_parents(string fixture)
    {
        using var fx = SysfsFixture.Build(Description(fixture));
        var inv = SysfsScanner.Scan(fx.Root);

        var paths = Lspci.Paths(fx.Root);
        Assert.Equal(inv.Functions.Count, paths.Count);
        foreach (var f in inv.Functions)
        {
            var veil = inv.Ancestors(f).Reverse().Select(a => a.Address.ToString()).Append(f.Address.ToString());
            Assert.Equal(veil, paths[f.Address.ToString()]);
        }

        var tree = Lspci.Run(fx.Root, "-tvv");
        Assert.Equal(inv.Functions.Count, DeviceToken().Count(tree));
        var lspciRanges = BridgeRange().Matches(tree).Select(m => m.Groups[2].Success ? $"{m.Groups[1].Value}-{m.Groups[2].Value}" : m.Groups[1].Value).Order();
        var veilRanges = inv.Functions.Where(f => f.Config is { HeaderType: 1 }).Select(f => f.Config!)
            .Select(c => c.SecondaryBus == c.SubordinateBus ? $"{c.SecondaryBus:x2}" : $"{c.SecondaryBus:x2}-{c.SubordinateBus:x2}").Order();
        Assert.Equal(veilRanges, lspciRanges);
        var roots = RootBus().Matches(tree).Select(m => m.Groups[1].Value).Order();
        Assert.Equal(inv.Functions.Where(f => f.Parent is null).Select(f => $"{f.Address.Domain:x4}:{f.Address.Bus:x2}").Distinct().Order(), roots);
    }

    [Fact]
    public void A_one_line_acs_change_shows_in_lspci_and_veil_alike()
    {
        var changed = SysfsFixture.ChangeLine(Topologies.HgxH100, "0000:1a:02.0", "0000:1a:02.0 0000:19:00.0 dsp 1000:c030 sub=1000:100b acs=SV,RR,CR,UF");
        using var fx = SysfsFixture.Build(changed);
        var inv = SysfsScanner.Scan(fx.Root);
        var l = Lspci.Verbose(fx.Root)["0000:1a:02.0"];
        Assert.Equal("SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-", l.AcsCtl);
        Assert.True(inv.Find(PciAddress.Parse("0000:1a:02.0"))!.Config!.Acs!.RedirectsPeerTraffic);
    }

    private static string? PortName(PciePortType? t) => t switch
    {
        PciePortType.Endpoint => "Endpoint",
        PciePortType.RootPort => "Root Port",
        PciePortType.SwitchUpstream => "Upstream Port",
        PciePortType.SwitchDownstream => "Downstream Port",
        null => null,
        _ => t.Value.ToString(),
    };

    [GeneratedRegex(@"-([0-9a-f]{2}\.[0-7])\b")]
    private static partial Regex DeviceToken();

    [GeneratedRegex(@"-\[([0-9a-f]{2})(?:-([0-9a-f]{2}))?\]")]
    private static partial Regex BridgeRange();

    [GeneratedRegex(@"\[([0-9a-f]{4}:[0-9a-f]{2})\]")]
    private static partial Regex RootBus();
}
