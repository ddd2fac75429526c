using System.Collections.Concurrent;
using Veil.Topology.Inventory;
using Veil.Topology.Planning;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Topology.Tests.Planning;

public class PlanTests
{
    private static PciAddress A(string s) => PciAddress.Parse(s);

    // Scans are read-only, so each distinct description is written and scanned once per test run.
    private static readonly ConcurrentDictionary<string, Lazy<HostInventory>> Scans = new();

    internal static HostInventory Scan(string description) =>
        Scans.GetOrAdd(description, d => new Lazy<HostInventory>(() =>
        {
            using var fx = SysfsFixture.Build(d);
            return SysfsScanner.Scan(fx.Root);
        })).Value;

    internal static Plan PlanFor(string description, string gpus, PlacementMode mode, bool nics = false, bool nvswitch = false, CvmKind cvm = CvmKind.None, KataRuntime runtime = KataRuntime.Go) =>
        Planner.Create(Scan(description), new PlanRequest(GpuSelection.Parse(gpus), mode, nics, nvswitch, cvm, runtime));

    [Fact]
    public void Eight_gpus_replicated_give_four_switches_each_with_the_gpus_and_nic_of_its_host_switch()
    {
        var plan = PlanFor(Topologies.HgxH100, "all", PlacementMode.Replicate, nics: true);

        Assert.False(plan.HasErrors);
        Assert.Equal(4, plan.Layout.Switches.Count);
        var expected = new Dictionary<string, string[]>
        {
            ["0000:19:00.0"] = ["0000:1b:00.0", "0000:1c:00.0", "0000:1d:00.0"],
            ["0000:41:00.0"] = ["0000:43:00.0", "0000:44:00.0", "0000:45:00.0"],
            ["0000:9b:00.0"] = ["0000:9d:00.0", "0000:9e:00.0", "0000:9f:00.0"],
            ["0000:c1:00.0"] = ["0000:c3:00.0", "0000:c4:00.0", "0000:c5:00.0"],
        };
        foreach (var sw in plan.Layout.Switches)
        {
            var held = plan.Layout.Ports.Where(p => p.Switch == sw.Index).Select(p => p.HostDevice.ToString()).ToArray();
            Assert.Equal(expected[sw.HostSwitch.ToString()], held);
            Assert.Equal(3, sw.DownstreamPorts.Count);
        }

        Assert.Equal(4, plan.Layout.RootPorts);
        Assert.Equal(12, plan.Layout.SwitchPorts);
        Assert.DoesNotContain(plan.Devices, d => d.Role == PassRole.GroupMember);
        Assert.Equal(8, plan.Gpus.Count());
        Assert.Equal(4, plan.Devices.Count(d => d.Role == PassRole.Nic));
    }

    [Fact]
    public void Eight_gpus_flattened_with_nics_and_nvswitches_fill_exactly_sixteen_root_ports()
    {
        var plan = PlanFor(Topologies.HgxH100, "all", PlacementMode.Flatten, nics: true, nvswitch: true);
        Assert.Equal(16, plan.Layout.RootPorts);
        Assert.Equal(0, plan.Layout.SwitchPorts);
        Assert.Empty(plan.Layout.Switches);
        Assert.DoesNotContain(plan.Diagnostics, d => d.Code == "port-count-over-16");
        Assert.DoesNotContain(plan.Diagnostics, d => d.Code == "nvswitch-not-passed");
        Assert.Equal(Enumerable.Range(0, 16).Select(i => $"rp{i}"), plan.Layout.Ports.Select(p => p.Name));
    }

    [Theory]
    [InlineData("hgx", PlacementMode.Flatten, 8, 8, 0)]
    [InlineData("hgx", PlacementMode.Replicate, 8, 4, 4)]
    [InlineData("lenovo", PlacementMode.Flatten, 4, 8, 0)]
    [InlineData("lenovo", PlacementMode.Replicate, 4, 4, 4)]
    [InlineData("single", PlacementMode.Flatten, 1, 1, 0)]
    [InlineData("single", PlacementMode.Replicate, 1, 1, 0)]
    public void Both_plans_for_every_fixture(string fixture, PlacementMode mode, int gpus, int rootPorts, int switches)
    {
        var description = fixture switch { "hgx" => Topologies.HgxH100, "lenovo" => Topologies.Lenovo4Gpu, _ => Topologies.SingleGpu };
        var plan = PlanFor(description, "all", mode, nics: fixture != "hgx" || mode == PlacementMode.Replicate);
        Assert.Equal(gpus, plan.Gpus.Count());
        Assert.Equal(rootPorts, plan.Layout.RootPorts);
        Assert.Equal(switches, plan.Layout.Switches.Count);
        Assert.False(plan.HasErrors, string.Join("; ", plan.Diagnostics.Where(d => d.Severity == Severity.Error).Select(d => d.Message)));
    }

    [Fact]
    public void Lenovo_replicate_pairs_each_gpu_with_the_nic_of_its_cx7_switch_and_flattens_the_nested_hop()
    {
        var plan = PlanFor(Topologies.Lenovo4Gpu, "all", PlacementMode.Replicate, nics: true);
        var sw = plan.Layout.Switches.Single(s => s.HostSwitch == A("0000:01:00.0"));
        Assert.Equal(
            [A("0000:03:00.0"), A("0000:06:00.0")],
            plan.Layout.Ports.Where(p => p.Switch == sw.Index).Select(p => p.HostDevice));
        Assert.DoesNotContain(plan.Devices, d => d.Address == A("0000:42:00.0")); // mgmt CX6 Lx is not GPU-local
    }

    [Fact]
    public void Single_gpu_without_a_switch_gets_no_nic_and_says_so()
    {
        var plan = PlanFor(Topologies.SingleGpu, "all", PlacementMode.Replicate, nics: true);
        Assert.Single(plan.Devices);
        Assert.Contains(plan.Diagnostics, d => d.Code == "no-local-nic" && d.Device == "0000:01:00.0");
    }

    [Fact]
    public void Gpu_count_and_bdf_selection()
    {
        var two = PlanFor(Topologies.HgxH100, "2", PlacementMode.Replicate, nics: true);
        Assert.Equal([A("0000:1b:00.0"), A("0000:1c:00.0")], two.Gpus.Select(g => g.Address));
        Assert.Single(two.Layout.Switches);

        var picked = PlanFor(Topologies.HgxH100, "0000:c4:00.0,9d:00.0", PlacementMode.Flatten);
        Assert.Equal([A("0000:9d:00.0"), A("0000:c4:00.0")], picked.Gpus.Select(g => g.Address));
    }

    [Theory]
    [InlineData("9", "asked for 9 GPUs, the host has 8")]
    [InlineData("0000:1d:00.0", "is a Nic")]
    [InlineData("0000:77:00.0", "is not a PCI function")]
    [InlineData("gpu0", "is not 'all', a count, or a PCI address")]
    [InlineData("0", "must be a whole number ≥ 1")]
    public void Bad_gpu_requests_are_typed_errors_naming_the_option(string gpus, string reason)
    {
        var e = Assert.Throws<TopologyInputException>(() => PlanFor(Topologies.HgxH100, gpus, PlacementMode.Flatten));
        Assert.Equal("--gpus", e.Field);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Large_bars_produce_a_sizing_hint()
    {
        var plan = PlanFor(Topologies.HgxH100, "all", PlacementMode.Flatten);
        Assert.Equal(8 * ((16UL << 20) + (128UL << 30) + (32UL << 20)), plan.Mmio64Bytes);
        var d = Assert.Single(plan.Diagnostics, d => d.Code == "large-bar");
        Assert.Contains("≥ 2097152 MiB", d.Remedy, StringComparison.Ordinal); // 1 TiB + 384 MiB rounds up to a 2 TiB window
        Assert.Equal(2097152, Checks.MmioWindowMib(plan.Mmio64Bytes));
    }

    [Fact]
    public void Numa_advice_groups_gpus_and_nics_per_host_node()
    {
        var plan = PlanFor(Topologies.HgxH100, "all", PlacementMode.Replicate, nics: true);
        Assert.Equal(2, plan.Numa.Count);
        Assert.Equal([A("0000:1b:00.0"), A("0000:1c:00.0"), A("0000:43:00.0"), A("0000:44:00.0")], plan.Numa[0].Gpus);
        Assert.Equal(1, plan.Numa[1].HostNode);
        Assert.Equal([A("0000:9f:00.0"), A("0000:c5:00.0")], plan.Numa[1].Nics);
    }
}
