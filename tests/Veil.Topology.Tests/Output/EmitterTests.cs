using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Veil.Topology.Output;
using Veil.Topology.Planning;
using Veil.Topology.Tests.Fixtures;
using Veil.Topology.Tests.Planning;

namespace Veil.Topology.Tests.Output;

public class EmitterTests
{
    private static Dictionary<string, string> TomlKeys(string toml) =>
        toml.Split('\n').Where(l => l.Contains(" = ", StringComparison.Ordinal) && !l.StartsWith('#')).Select(l => l.Split(" = ", 2)).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public void Kata_fragment_for_snp_flatten_uses_root_ports_and_confidential_keys()
    {
        var plan = PlanTests.PlanFor(Topologies.HgxH100, "all", PlacementMode.Flatten, nics: true, nvswitch: true, cvm: CvmKind.Snp);
        var keys = TomlKeys(KataConfigEmitter.Emit(plan));
        Assert.Equal("true", keys["confidential_guest"]);
        Assert.Equal("true", keys["sev_snp_guest"]);
        Assert.Equal("\"root-port\"", keys["cold_plug_vfio"]);
        Assert.Equal("\"no-port\"", keys["hot_plug_vfio"]);
        Assert.Equal("16", keys["pcie_root_port"]);
        Assert.Equal("\"guest-kernel\"", keys["vfio_mode"]);
        Assert.Equal("true", keys["enable_numa"]); // devices span both sockets
    }

    [Fact]
    public void Kata_fragment_for_tdx_runtime_rs_has_no_hot_plug_key_and_replicate_go_uses_switch_ports()
    {
        var rs = TomlKeys(KataConfigEmitter.Emit(PlanTests.PlanFor(Topologies.SingleGpu, "all", PlacementMode.Flatten, cvm: CvmKind.Tdx, runtime: KataRuntime.Rs)));
        Assert.False(rs.ContainsKey("hot_plug_vfio"));
        Assert.False(rs.ContainsKey("sev_snp_guest"));
        Assert.Equal("true", rs["confidential_guest"]);
        Assert.Equal("1", rs["pcie_root_port"]);
        Assert.False(rs.ContainsKey("enable_numa"));

        var rep = TomlKeys(KataConfigEmitter.Emit(PlanTests.PlanFor(Topologies.HgxH100, "all", PlacementMode.Replicate, nics: true)));
        Assert.Equal("\"switch-port\"", rep["cold_plug_vfio"]);
        Assert.Equal("12", rep["pcie_switch_port"]);
    }

    [Fact]
    public void Qemu_args_build_one_switch_per_host_switch()
    {
        var plan = PlanTests.PlanFor(Topologies.HgxH100, "all", PlacementMode.Replicate, nics: true);
        var args = KataConfigEmitter.EmitQemuArgs(plan).Split('\n');
        Assert.Equal(4, args.Count(l => l.StartsWith("-device x3130-upstream", StringComparison.Ordinal)));
        Assert.Equal(12, args.Count(l => l.StartsWith("-device xio3130-downstream", StringComparison.Ordinal)));
        Assert.StartsWith("-device vfio-pci,host=0000:1b:00.0,bus=swdp0_0,iommufd=iommufd0 # /dev/vfio/devices/vfio", args.Single(l => l.Contains("0000:1b:00.0", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal("-device vfio-pci,host=0000:1d:00.0,bus=swdp0_2", args.Single(l => l.Contains("0000:1d:00.0", StringComparison.Ordinal))); // mlx5_core-bound: no cdev yet
    }

    [Fact]
    public void Cdi_spec_names_gpus_by_their_iommufd_cdev_like_the_sandbox_device_plugin()
    {
        var plan = PlanTests.PlanFor(Topologies.HgxH100, "all", PlacementMode.Flatten);
        var spec = JsonNode.Parse(CdiSpecEmitter.Emit(plan))!;
        Assert.Equal("nvidia.com/pgpu", spec["kind"]!.GetValue<string>());
        Assert.Equal("0.6.0", spec["cdiVersion"]!.GetValue<string>());
        var devices = spec["devices"]!.AsArray();
        Assert.Equal(8, devices.Count);
        var first = devices[0]!;
        var name = first["name"]!.GetValue<string>();
        Assert.Matches("^vfio[0-9]+$", name);
        Assert.Equal($"/dev/vfio/devices/{name}", first["containerEdits"]!["deviceNodes"]![0]!["path"]!.GetValue<string>());
        Assert.Equal("0000:1b:00.0", first["annotations"]![CdiSpecEmitter.BdfAnnotation]!.GetValue<string>());
        Assert.Equal(8, devices.Select(d => d!["name"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public void Cdi_spec_without_iommufd_uses_legacy_group_nodes_and_the_version_follows_the_fields()
    {
        var plan = PlanTests.PlanFor(SysfsFixture.ChangeLine(Topologies.SingleGpu, "iommufd", "iommufd off"), "all", PlacementMode.Flatten);
        var gpu = plan.Gpus.Single();
        var bare = JsonNode.Parse(CdiSpecEmitter.Emit(plan, annotate: false))!;
        var dev = bare["devices"]![0]!;
        Assert.Equal(gpu.IommuGroup.ToString(), dev["name"]!.GetValue<string>());
        Assert.Equal(["/dev/vfio/vfio", $"/dev/vfio/{gpu.IommuGroup}"], dev["containerEdits"]!["deviceNodes"]!.AsArray().Select(n => n!["path"]!.GetValue<string>()));
        Assert.Equal("0.5.0", bare["cdiVersion"]!.GetValue<string>()); // a name starting with a digit needs 0.5.0

        Assert.Equal("0.3.0", CdiSpecEmitter.MinimumVersion([new("vfio0", null, ["/dev/x"])]));
        Assert.Equal("0.5.0", CdiSpecEmitter.MinimumVersion([new("vfio0", null, ["/dev/x"], HostPaths: true)]));
        Assert.Equal("0.6.0", CdiSpecEmitter.MinimumVersion([new("vfio0", "0000:01:00.0", ["/dev/x"])]));
    }

    [Fact]
    public void Nccl_file_groups_gpus_and_nic_under_each_emulated_switch()
    {
        var plan = PlanTests.PlanFor(Topologies.HgxH100, "all", PlacementMode.Replicate, nics: true);
        var doc = XDocument.Parse(NcclTopologyEmitter.Emit(plan));
        var cpus = doc.Root!.Elements("cpu").ToList();
        Assert.Equal(2, cpus.Count);
        var switches = cpus.SelectMany(c => c.Elements("pci")).ToList();
        Assert.Equal(4, switches.Count);
        Assert.All(switches, s =>
        {
            Assert.Equal("0x060400", s.Attribute("class")!.Value);
            Assert.Equal(2, s.Elements("pci").Count(p => p.Element("gpu") is not null));
            Assert.Single(s.Elements("pci"), p => p.Attribute("class")!.Value == "0x020700");
        });
        Assert.Equal(Enumerable.Range(0, 8).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), doc.Descendants("gpu").Select(g => g.Attribute("dev")!.Value));
        Assert.All(doc.Descendants("gpu"), g => Assert.Equal("90", g.Attribute("sm")!.Value));
        Assert.Equal(plan.Layout.Ports.Select(p => p.GuestAddress.ToString()).Order(), doc.Descendants("pci").Where(p => p.Attribute("class")!.Value != "0x060400").Select(p => p.Attribute("busid")!.Value).Order());
    }

    [Fact]
    public void Nccl_file_in_flatten_mode_hangs_every_device_off_the_cpu()
    {
        var plan = PlanTests.PlanFor(Topologies.Lenovo4Gpu, "all", PlacementMode.Flatten, nics: true);
        var doc = XDocument.Parse(NcclTopologyEmitter.Emit(plan));
        Assert.DoesNotContain(doc.Descendants("pci"), p => p.Attribute("class")!.Value == "0x060400");
        Assert.Equal(8, doc.Root!.Elements("cpu").SelectMany(c => c.Elements("pci")).Count());
    }

    [Theory]
    [InlineData(PlacementMode.Replicate)]
    [InlineData(PlacementMode.Flatten)]
    public void Nccl_file_is_written_as_xdocument_writes_it(PlacementMode mode)
    {
        // Parsing and writing back with XDocument must give the same text: same indentation, empty-element form
        // and escaping as the XDocument the emitter used to build.
        foreach (var fixture in new[] { Topologies.HgxH100, Topologies.Lenovo4Gpu, Topologies.SingleGpu })
        {
            var xml = NcclTopologyEmitter.Emit(PlanTests.PlanFor(fixture, "all", mode, nics: true));
            Assert.Equal(XDocument.Parse(xml).ToString() + "\n", xml);
        }
    }

    [Fact]
    public void Nccl_file_escapes_odd_sysfs_text_and_replaces_what_xml_cannot_carry()
    {
        using var fx = SysfsFixture.Build(Topologies.SingleGpu);
        var dir = fx.DeviceDir("0000:01:00.0");
        File.WriteAllBytes(Path.Combine(dir, "config"), File.ReadAllBytes(Path.Combine(dir, "config"))[..64]); // no PCIe capability: link from sysfs text
        File.WriteAllText(Path.Combine(dir, "current_link_speed"), "8.0 GT/s\t<PCIe> & \"x\" 'y'\n");
        var plan = Planner.Create(Sysfs.SysfsScanner.Scan(fx.Root), new PlanRequest(GpuSelection.Parse("all"), PlacementMode.Flatten));
        var xml = NcclTopologyEmitter.Emit(plan);
        Assert.Equal(XDocument.Parse(xml).ToString() + "\n", xml);
        Assert.Equal("8.0 GT/s\t<PCIe> & \"x\" 'y'", XDocument.Parse(xml).Descendants("pci").Single().Attribute("link_speed")!.Value);

        File.WriteAllText(Path.Combine(dir, "current_link_speed"), "8.0\u0001GT/s\n");
        var odd = NcclTopologyEmitter.Emit(Planner.Create(Sysfs.SysfsScanner.Scan(fx.Root), new PlanRequest(GpuSelection.Parse("all"), PlacementMode.Flatten)));
        Assert.Equal("8.0\uFFFDGT/s", XDocument.Parse(odd).Descendants("pci").Single().Attribute("link_speed")!.Value);
    }

    [Fact]
    public void Plan_json_carries_layout_devices_and_diagnostics()
    {
        var plan = PlanTests.PlanFor(Topologies.HgxH100, "all", PlacementMode.Replicate, nics: true);
        using var doc = JsonDocument.Parse(TopologyJson.Serialize(plan));
        var root = doc.RootElement;
        Assert.Equal("replicate", root.GetProperty("request").GetProperty("mode").GetString());
        Assert.Equal(4, root.GetProperty("layout").GetProperty("switches").GetArrayLength());
        Assert.Equal(12, root.GetProperty("devices").GetArrayLength());
        Assert.Contains(root.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("code").GetString() == "nvswitch-not-passed" && d.GetProperty("severity").GetString() == "warning");
        Assert.Equal("0000:1b:00.0", root.GetProperty("devices")[0].GetProperty("address").GetString());
    }
}
