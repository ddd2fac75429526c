using Veil.Topology.Planning;
using Veil.Topology.Sysfs;
using Veil.Topology.Tests.Fixtures;

namespace Veil.Topology.Tests.Planning;

/// <summary>Each diagnostic of issue 8: triggered by a one-line change to a fixture (or the one request flag it is about), absent without it.</summary>
public class DiagnosticTests
{
    private static Plan Plan(string description, string gpus = "all", PlacementMode mode = PlacementMode.Replicate, bool nics = true, bool nvswitch = true, CvmKind cvm = CvmKind.None, KataRuntime runtime = KataRuntime.Go) =>
        PlanTests.PlanFor(description, gpus, mode, nics, nvswitch, cvm, runtime);

    private static string Change(string description, string prefix, string line) => SysfsFixture.ChangeLine(description, prefix, line);

    private static void Toggles(string code, Plan without, Plan with, string? device = null)
    {
        Assert.DoesNotContain(without.Diagnostics, d => d.Code == code);
        var hits = with.Diagnostics.Where(d => d.Code == code).ToList();
        Assert.NotEmpty(hits); // one per affected device or pair (two GPUs share a NIC on the HGX switches)
        Assert.All(hits, hit =>
        {
            Assert.False(string.IsNullOrWhiteSpace(hit.Remedy));
            if (device is not null)
            {
                Assert.Equal(device, hit.Device);
            }
        });
    }

    [Fact]
    public void Cvm_without_iommufd()
    {
        var off = Change(Topologies.HgxH100, "iommufd", "iommufd off");
        var with = Plan(off, cvm: CvmKind.Snp);
        Toggles("cvm-without-iommufd", Plan(Topologies.HgxH100, cvm: CvmKind.Snp), with);
        Assert.Equal(Severity.Error, with.Diagnostics[0].Severity);
        Assert.DoesNotContain(Plan(off, cvm: CvmKind.None).Diagnostics, d => d.Code == "cvm-without-iommufd");
    }

    [Fact]
    public void Nvswitch_present_but_not_passed()
    {
        var withSwitch = Change(Topologies.Lenovo4Gpu, "0000:60:05.3", "0000:60:05.3 - nvswitch 10de:22a3");
        Toggles("nvswitch-not-passed", Plan(Topologies.Lenovo4Gpu, nvswitch: false), Plan(withSwitch, nvswitch: false));
        Assert.DoesNotContain(Plan(withSwitch, nvswitch: true).Diagnostics, d => d.Code == "nvswitch-not-passed");
    }

    [Fact]
    public void Acs_redirect_on_a_switch_port_of_the_p2p_path()
    {
        var acs = Change(Topologies.HgxH100, "0000:1a:02.0", "0000:1a:02.0 0000:19:00.0 dsp 1000:c030 sub=1000:100b acs=SV,RR,CR,UF");
        var with = Plan(acs);
        Toggles("acs-redirect-on-p2p-path", Plan(Topologies.HgxH100), with, "0000:1a:02.0");
        Assert.Contains("ECAP_ACS+0x6.w=0x0011", with.Diagnostics.Single(d => d.Code == "acs-redirect-on-p2p-path").Remedy, StringComparison.Ordinal);
    }

    [Fact]
    public void Acs_redirect_off_the_p2p_path_is_not_reported()
    {
        // The NVSwitch switch's port carries no GPU↔NIC/GPU↔GPU path.
        var acs = Change(Topologies.HgxH100, "0000:06:00.0", "0000:06:00.0 0000:05:00.0 dsp 1000:c030 sub=1000:100b acs=SV,RR,CR,UF");
        Assert.DoesNotContain(Plan(acs).Diagnostics, d => d.Code == "acs-redirect-on-p2p-path");
    }

    [Fact]
    public void Ats_off_on_a_gpudirect_nic()
    {
        var ats = Change(Topologies.HgxH100, "0000:45:00.0", "0000:45:00.0 0000:42:02.0 nic 15b3:1021 sub=15b3:0023 vfs=8 ats=off");
        Toggles("ats-off-on-gdr-nic", Plan(Topologies.HgxH100), Plan(ats), "0000:45:00.0");
        var none = Change(Topologies.HgxH100, "0000:45:00.0", "0000:45:00.0 0000:42:02.0 nic 15b3:1021 sub=15b3:0023 vfs=8 ats=none");
        Assert.Contains("no ATS capability", Plan(none).Diagnostics.Single(d => d.Code == "ats-off-on-gdr-nic").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gpu_and_nic_on_different_numa_nodes()
    {
        var numa = Change(Topologies.Lenovo4Gpu, "0000:23:00.0", "0000:23:00.0 0000:22:00.0 nic 15b3:1021 class=0x020000 sub=15b3:0041 numa=1");
        Toggles("gpu-nic-numa-mismatch", Plan(Topologies.Lenovo4Gpu), Plan(numa), "0000:23:00.0");
    }

    [Fact]
    public void Runtime_rs_with_a_port_mode_it_does_not_support()
    {
        var rs = Plan(Topologies.Lenovo4Gpu, runtime: KataRuntime.Rs);
        Toggles("runtime-rs-port-mode", Plan(Topologies.Lenovo4Gpu, runtime: KataRuntime.Go), rs);
        Assert.True(rs.HasErrors);
        Assert.DoesNotContain(Plan(Topologies.Lenovo4Gpu, mode: PlacementMode.Flatten, runtime: KataRuntime.Rs).Diagnostics, d => d.Code == "runtime-rs-port-mode");
    }

    [Fact]
    public void Port_count_over_sixteen()
    {
        // 8 GPUs + 4 NICs + 4 NVSwitches fill the 16 root ports; a second ConnectX-7 port function makes 17.
        var extra = Change(Topologies.HgxH100, "0000:81:00.0", "0000:1d:00.1 0000:1a:02.0 nic 15b3:1021 sub=15b3:0023");
        var over = Plan(extra, mode: PlacementMode.Flatten);
        Toggles("port-count-over-16", Plan(Topologies.HgxH100, mode: PlacementMode.Flatten), over);
        Assert.Equal(17, over.Layout.RootPorts);
        Assert.True(over.HasErrors);
    }

    [Fact]
    public void Iommu_group_with_an_unrelated_member_blocks_the_gpu()
    {
        var group = PlanTests.Scan(Topologies.HgxH100).Find(PciAddress.Parse("0000:1b:00.0"))!.IommuGroup;
        var shared = Change(Topologies.HgxH100, "0000:81:00.0", $"0000:81:00.0 0000:80:01.0 ep 144d:a80a class=0x010802 drv=nvme link=4/4 bar=0:16K:m64 group={group}");

        var legacy = Plan(shared);
        Toggles("iommu-group-shared", Plan(Topologies.HgxH100), legacy, "0000:1b:00.0");
        Assert.Contains(legacy.Devices, d => d.Role == PassRole.GroupMember && d.Address == PciAddress.Parse("0000:81:00.0"));

        var cvm = Plan(shared, cvm: CvmKind.Tdx);
        Assert.DoesNotContain(cvm.Devices, d => d.Role == PassRole.GroupMember);
        Assert.Single(cvm.Blockers);
    }

    [Fact]
    public void Partial_nvswitch_partition_on_a_hopper_board()
    {
        Assert.DoesNotContain(Plan(Topologies.HgxH100, gpus: "all").Diagnostics, d => d.Code == "nvswitch-partition");
        Toggles("nvswitch-partition", Plan(Topologies.HgxH100, gpus: "2", nvswitch: false), Plan(Topologies.HgxH100, gpus: "2"));
    }

    [Fact]
    public void Multi_gpu_cvm_on_an_nvswitch_board_needs_ppcie()
    {
        Toggles("cvm-multi-gpu-ppcie", Plan(Topologies.HgxH100, cvm: CvmKind.None), Plan(Topologies.HgxH100, cvm: CvmKind.Snp));
        Assert.DoesNotContain(Plan(Topologies.Lenovo4Gpu, cvm: CvmKind.Snp).Diagnostics, d => d.Code == "cvm-multi-gpu-ppcie");
    }

    public static TheoryData<string, string, string, string> OneLineChanges => new()
    {
        { "cvm-without-iommufd", "lenovo", "iommufd", "iommufd off" },
        { "cvm-without-iommufd", "single", "iommufd", "iommufd off" },
        { "nvswitch-not-passed", "single", "0000:03:00.0", "0000:03:00.0 0000:00:03.0 nvswitch 10de:22a3" },
        { "acs-redirect-on-p2p-path", "lenovo", "0000:02:00.0", "0000:02:00.0 0000:01:00.0 dsp 15b3:1979 acs=SV,RR,CR,UF" },
        { "ats-off-on-gdr-nic", "lenovo", "0000:a3:00.0", "0000:a3:00.0 0000:a2:00.0 nic 15b3:1021 class=0x020000 sub=15b3:0041 ats=off" },
        { "gpu-nic-numa-mismatch", "hgx", "0000:9f:00.0", "0000:9f:00.0 0000:9c:02.0 nic 15b3:1021 sub=15b3:0023 vfs=8 numa=0" },
    };

    [Theory]
    [MemberData(nameof(OneLineChanges))]
    public void Diagnostics_on_the_other_fixtures(string code, string fixture, string prefix, string line)
    {
        var description = fixture switch { "hgx" => Topologies.HgxH100, "lenovo" => Topologies.Lenovo4Gpu, _ => Topologies.SingleGpu };
        var cvm = code == "cvm-without-iommufd" ? CvmKind.Snp : CvmKind.None;
        var nvswitch = code != "nvswitch-not-passed";
        Toggles(code, Plan(description, cvm: cvm, nvswitch: nvswitch), Plan(Change(description, prefix, line), cvm: cvm, nvswitch: nvswitch));
    }

    [Theory]
    [InlineData("hgx")]
    [InlineData("single")]
    public void Runtime_rs_replicate_is_refused_on_every_fixture(string fixture)
    {
        var description = fixture == "hgx" ? Topologies.HgxH100 : Topologies.SingleGpu;
        Toggles("runtime-rs-port-mode", Plan(description, runtime: KataRuntime.Go), Plan(description, runtime: KataRuntime.Rs));
    }
}
