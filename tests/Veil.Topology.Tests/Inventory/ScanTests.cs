using Veil.Topology.ConfigSpace;
using Veil.Topology.Inventory;
using Veil.Topology.Output;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Topology.Tests.Inventory;

public class ScanTests
{
    private static PciAddress A(string s) => PciAddress.Parse(s);

    [Fact]
    public void Hgx_board_reads_as_four_switches_of_two_gpus_and_a_cx7_plus_four_nvswitches()
    {
        using var fx = SysfsFixture.Build(Topologies.HgxH100);
        var inv = SysfsScanner.Scan(fx.Root);

        Assert.Empty(inv.Warnings);
        Assert.InRange(inv.Functions.Count, 280, 320);
        Assert.Equal(8, inv.Functions.Count(f => f.Kind == DeviceKind.Gpu));
        Assert.Equal(4, inv.Functions.Count(f => f.Kind == DeviceKind.NvSwitch));
        Assert.Equal(4, inv.Functions.Count(f => f.Kind == DeviceKind.Nic && f.PhysicalFunction is null));
        Assert.Equal(32, inv.Functions.Count(f => f.Kind == DeviceKind.Nic && f.PhysicalFunction is not null));
        Assert.Equal(5, inv.Functions.Count(f => f.Kind == DeviceKind.SwitchUpstream));
        Assert.Equal(16, inv.Functions.Count(f => f.Kind == DeviceKind.SwitchDownstream));
        Assert.True(inv.IommufdAvailable);
        Assert.True(inv.VfioCdevsAvailable);

        var gpu = inv.Find(A("0000:1b:00.0"))!;
        Assert.Equal((ushort)0x10de, gpu.VendorId);
        Assert.Equal((ushort)0x2330, gpu.DeviceId);
        Assert.Equal((ushort)0x16c1, gpu.SubsystemDeviceId);
        Assert.Equal(0x030200u, gpu.ClassCode);
        Assert.Equal(A("0000:1a:00.0"), gpu.Parent);
        Assert.Equal("vfio-pci", gpu.Driver);
        Assert.NotNull(gpu.VfioDevice);
        Assert.Equal(PciePortType.Endpoint, gpu.PortType);
        Assert.Equal("32.0 GT/s PCIe", gpu.Link.Speed);
        Assert.Equal(16, gpu.Link.Width);
        Assert.Equal(128UL << 30, gpu.LargestBar);
        Assert.Contains(gpu.Bars, b => b.Index == 2 && b.Is64Bit && b.Prefetchable);
        Assert.Equal(0, gpu.NumaNode);
        Assert.Equal(1, inv.Find(A("0000:9d:00.0"))!.NumaNode);

        Assert.Equal([A("0000:18:01.0"), A("0000:19:00.0"), A("0000:1a:00.0")], inv.Ancestors(gpu).Select(f => f.Address).Reverse());
        Assert.Equal(PciePortType.RootPort, inv.Find(A("0000:18:01.0"))!.PortType);
        Assert.Equal(PciePortType.SwitchUpstream, inv.Find(A("0000:19:00.0"))!.PortType);
        var dsp = inv.Find(A("0000:1a:02.0"))!;
        Assert.Equal(DeviceKind.SwitchDownstream, dsp.Kind);
        Assert.Equal((ushort)0x0011, dsp.Config!.Acs!.Control);
        Assert.False(dsp.Config.Acs.RedirectsPeerTraffic);
        Assert.Equal(0x1d, dsp.Config.SecondaryBus);

        var nic = inv.Find(A("0000:1d:00.0"))!;
        Assert.Equal(DeviceKind.Nic, nic.Kind);
        Assert.True(nic.Config!.Ats!.Enabled);
        Assert.Equal(0x480, nic.Config.Ats.Offset);
        Assert.Equal(8, nic.VirtualFunctions.Count);
        Assert.Equal((ushort)8, nic.Config.Sriov!.NumVfs);
        Assert.Equal(nic.Address, inv.Find(nic.VirtualFunctions[0])!.PhysicalFunction);

        Assert.Equal(DeviceKind.Other, inv.Find(A("0000:03:00.0"))!.Kind); // ASPEED VGA: not an NVIDIA GPU
        Assert.All(inv.Functions.Where(f => f.Kind == DeviceKind.Gpu), g => Assert.Single(inv.IommuGroups.Single(x => x.Id == g.IommuGroup).Members));
    }

    [Fact]
    public void Lenovo_board_puts_each_gpu_behind_the_cx7_internal_switch()
    {
        using var fx = SysfsFixture.Build(Topologies.Lenovo4Gpu);
        var inv = SysfsScanner.Scan(fx.Root);

        Assert.Empty(inv.Warnings);
        Assert.Equal(4, inv.Functions.Count(f => f.Kind == DeviceKind.Gpu));
        Assert.DoesNotContain(inv.Functions, f => f.Kind == DeviceKind.NvSwitch);
        var gpu = inv.Find(A("0000:06:00.0"))!;
        var chain = inv.Ancestors(gpu).Select(f => (f.Address, f.Kind, f.VendorId)).ToList();
        Assert.Equal((A("0000:01:00.0"), DeviceKind.SwitchUpstream, (ushort)0x15b3), chain[^2]);
        Assert.Equal(DeviceKind.Nic, inv.Find(A("0000:03:00.0"))!.Kind);
        Assert.Equal(0x020000u, inv.Find(A("0000:03:00.0"))!.ClassCode);
        Assert.Equal([A("0000:42:00.0"), A("0000:42:00.1")], inv.IommuGroups.Single(g => g.Id == 400).Members);
    }

    [Fact]
    public void Single_gpu_server_has_one_gpu_on_a_root_port()
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        var inv = SysfsScanner.Scan(fx.Root);

        Assert.Empty(inv.Warnings);
        var gpu = Assert.Single(inv.Functions, f => f.Kind == DeviceKind.Gpu);
        Assert.Equal((ushort)0x2331, gpu.DeviceId);
        Assert.Equal(DeviceKind.RootPort, inv.Find(gpu.Parent!.Value)!.Kind);
        Assert.Equal(DeviceKind.HostBridge, inv.Find(A("0000:00:00.0"))!.Kind);
        Assert.False(inv.Find(A("0000:00:00.0"))!.Config!.IsExtended);
    }

    [Fact]
    public void Scan_views_show_every_function_and_json_round_trips_addresses()
    {
        using var fx = SysfsFixture.Build(Topologies.Lenovo4Gpu);
        var inv = SysfsScanner.Scan(fx.Root);

        var table = InventoryText.Table(inv);
        var tree = InventoryText.Tree(inv);
        Assert.All(inv.Functions, f => Assert.Contains(f.Address.ToString(), table, StringComparison.Ordinal));
        Assert.All(inv.Functions, f => Assert.Contains(f.Address.ToString(), tree, StringComparison.Ordinal));
        Assert.Contains("        0000:06:00.0 gpu 10de:2330", tree, StringComparison.Ordinal);

        using var doc = System.Text.Json.JsonDocument.Parse(TopologyJson.Serialize(inv));
        var fns = doc.RootElement.GetProperty("functions");
        Assert.Equal(inv.Functions.Count, fns.GetArrayLength());
        Assert.Contains(fns.EnumerateArray(), f => f.GetProperty("address").GetString() == "0000:06:00.0" && f.GetProperty("kind").GetString() == "gpu");
    }

    [Fact]
    public void Missing_sysfs_root_is_a_typed_error_naming_the_option()
    {
        var e = Assert.Throws<TopologyInputException>(() => SysfsScanner.Scan("/nonexistent/veil-sysfs"));
        Assert.Equal("--sysfs", e.Field);
        Assert.Contains("bus/pci/devices", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0000:1b:00.0", 0, 0x1b, 0, 0)]
    [InlineData("1b:00.7", 0, 0x1b, 0, 7)]
    [InlineData("10000:ff:1f.7", -1, 0, 0, 0)]
    [InlineData("0000:1b:20.0", -1, 0, 0, 0)]
    [InlineData("0000:1b:00.8", -1, 0, 0, 0)]
    [InlineData("zz:00.0", -1, 0, 0, 0)]
    [InlineData("", -1, 0, 0, 0)]
    public void Pci_addresses_parse_strictly(string text, int domain, int bus, int dev, int fn)
    {
        var ok = PciAddress.TryParse(text, out var a);
        Assert.Equal(domain >= 0, ok);
        if (ok)
        {
            Assert.Equal(new PciAddress(domain, bus, dev, fn), a);
        }
    }
}
