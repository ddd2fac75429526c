namespace Veil.Topology.Tests.Fixtures;

/// <summary>
/// Fixture descriptions after docs/research/topologies (see each comment for the sample it follows).
/// BDFs and ids follow the samples where the sources give them; BAR sizes, VF counts and platform functions
/// are plausible fill-ins so the trees read as whole machines.
/// </summary>
internal static class Topologies
{
    /// <summary>
    /// HGX H100 8-GPU on a 2-socket Intel host (nccl-xml_hgx-h100_spr_simai-128, nvidia-fm-guide): four PEX890xx
    /// Gen5 switches (1000:c030, sub 1000:100b), each with two H100 SXM5 (10de:2330) and one ConnectX-7
    /// (15b3:1021, IB class 0x0207); four NVSwitches (10de:22a3, class 0x0680) behind their own switch.
    /// ~300 functions with SR-IOV VFs and platform (uncore) functions.
    /// </summary>
    public const string HgxH100 = """
        iommufd on
        0000:00:00.0 - hostbridge 8086:09a2
        0000:00:01.0 - rp 8086:352a
        0000:05:00.0 0000:00:01.0 usp 1000:c030 sub=1000:100b
        0000:06:00.0 0000:05:00.0 dsp 1000:c030 sub=1000:100b
        0000:06:01.0 0000:05:00.0 dsp 1000:c030 sub=1000:100b
        0000:06:02.0 0000:05:00.0 dsp 1000:c030 sub=1000:100b
        0000:06:03.0 0000:05:00.0 dsp 1000:c030 sub=1000:100b
        0000:07:00.0 0000:06:00.0 nvswitch 10de:22a3 sub=10de:1796
        0000:08:00.0 0000:06:01.0 nvswitch 10de:22a3 sub=10de:1796
        0000:09:00.0 0000:06:02.0 nvswitch 10de:22a3 sub=10de:1796
        0000:0a:00.0 0000:06:03.0 nvswitch 10de:22a3 sub=10de:1796
        0000:00:1c.0 - rp 8086:7ab8 link=2/1
        0000:03:00.0 0000:00:1c.0 ep 1a03:2000 class=0x030000 drv=ast link=2/1 bar=0:64M:m32,1:256K:m32
        # switch 0 (socket 0)
        0000:18:00.0 - hostbridge 8086:09a2
        0000:18:01.0 - rp 8086:352a
        0000:19:00.0 0000:18:01.0 usp 1000:c030 sub=1000:100b
        0000:1a:00.0 0000:19:00.0 dsp 1000:c030 sub=1000:100b
        0000:1a:01.0 0000:19:00.0 dsp 1000:c030 sub=1000:100b
        0000:1a:02.0 0000:19:00.0 dsp 1000:c030 sub=1000:100b
        0000:1b:00.0 0000:1a:00.0 gpu 10de:2330 sub=10de:16c1
        0000:1c:00.0 0000:1a:01.0 gpu 10de:2330 sub=10de:16c1
        0000:1d:00.0 0000:1a:02.0 nic 15b3:1021 sub=15b3:0023 vfs=8
        # switch 1 (socket 0)
        0000:40:00.0 - hostbridge 8086:09a2
        0000:40:01.0 - rp 8086:352a
        0000:41:00.0 0000:40:01.0 usp 1000:c030 sub=1000:100b
        0000:42:00.0 0000:41:00.0 dsp 1000:c030 sub=1000:100b
        0000:42:01.0 0000:41:00.0 dsp 1000:c030 sub=1000:100b
        0000:42:02.0 0000:41:00.0 dsp 1000:c030 sub=1000:100b
        0000:43:00.0 0000:42:00.0 gpu 10de:2330 sub=10de:16c1
        0000:44:00.0 0000:42:01.0 gpu 10de:2330 sub=10de:16c1
        0000:45:00.0 0000:42:02.0 nic 15b3:1021 sub=15b3:0023 vfs=8
        # switch 2 (socket 1)
        0000:80:00.0 - hostbridge 8086:09a2 numa=1
        0000:80:01.0 - rp 8086:352a numa=1
        0000:81:00.0 0000:80:01.0 ep 144d:a80a class=0x010802 drv=nvme link=4/4 bar=0:16K:m64
        0000:9a:00.0 - hostbridge 8086:09a2 numa=1
        0000:9a:01.0 - rp 8086:352a numa=1
        0000:9b:00.0 0000:9a:01.0 usp 1000:c030 sub=1000:100b
        0000:9c:00.0 0000:9b:00.0 dsp 1000:c030 sub=1000:100b
        0000:9c:01.0 0000:9b:00.0 dsp 1000:c030 sub=1000:100b
        0000:9c:02.0 0000:9b:00.0 dsp 1000:c030 sub=1000:100b
        0000:9d:00.0 0000:9c:00.0 gpu 10de:2330 sub=10de:16c1
        0000:9e:00.0 0000:9c:01.0 gpu 10de:2330 sub=10de:16c1
        0000:9f:00.0 0000:9c:02.0 nic 15b3:1021 sub=15b3:0023 vfs=8
        # switch 3 (socket 1)
        0000:c0:00.0 - hostbridge 8086:09a2 numa=1
        0000:c0:01.0 - rp 8086:352a numa=1
        0000:c1:00.0 0000:c0:01.0 usp 1000:c030 sub=1000:100b
        0000:c2:00.0 0000:c1:00.0 dsp 1000:c030 sub=1000:100b
        0000:c2:01.0 0000:c1:00.0 dsp 1000:c030 sub=1000:100b
        0000:c2:02.0 0000:c1:00.0 dsp 1000:c030 sub=1000:100b
        0000:c3:00.0 0000:c2:00.0 gpu 10de:2330 sub=10de:16c1
        0000:c4:00.0 0000:c2:01.0 gpu 10de:2330 sub=10de:16c1
        0000:c5:00.0 0000:c2:02.0 nic 15b3:1021 sub=15b3:0023 vfs=8
        # platform functions (Sapphire Rapids uncore)
        uncore 0000:7e 56 numa=0
        uncore 0000:7f 56 numa=0
        uncore 0000:fe 56 numa=1
        uncore 0000:ff 56 numa=1
        """;

    /// <summary>
    /// HGX H100 8-GPU on a 2-socket Sapphire Rapids host as the NCCL topology dumps of docs/research/topologies show it
    /// (nccl-xml_hgx-h100_spr_simai-128, nccl-xml_hgx-h100_emr_nccl-1363): one PEX890xx Gen5 switch (1000:c030, sub
    /// 1000:100b) per GPU, each holding an H100 SXM5 (10de:2330, sub 10de:16c1) and a ConnectX-7 in InfiniBand mode
    /// (15b3:1021, class 0x0207); the GPU at switch bus + 2 and the NIC at + 3 (18:00.0 with 19:00.0 under 16:00.0,
    /// 49:00.0 under 46:00.0, d9:00.0 with da:00.0 under d7:00.0, GPU b8:00.0, as in the dumps); the four NVSwitches
    /// (10de:22a3, class 0x0680) at 05:00.0–08:00.0 as in simai-128, behind a switch of their own; each IIO stack its
    /// own root bus; uncore functions on 7e/7f and fe/ff. Bus numbers not in the dumps are plausible fill-ins.
    /// Written once into testdata/topology/hgx-h100-8gpu (README, `veil topology scan`).
    /// </summary>
    public const string HgxH100Spr = """
        iommufd on
        # socket 0: PCH stack (BMC) and the NVSwitch management switch
        0000:00:00.0 - hostbridge 8086:09a2
        0000:00:01.0 - rp 8086:352a
        0000:03:00.0 0000:00:01.0 usp 1000:c030 sub=1000:100b
        0000:04:00.0 0000:03:00.0 dsp 1000:c030 sub=1000:100b
        0000:04:01.0 0000:03:00.0 dsp 1000:c030 sub=1000:100b
        0000:04:02.0 0000:03:00.0 dsp 1000:c030 sub=1000:100b
        0000:04:03.0 0000:03:00.0 dsp 1000:c030 sub=1000:100b
        0000:05:00.0 0000:04:00.0 nvswitch 10de:22a3 sub=10de:1796
        0000:06:00.0 0000:04:01.0 nvswitch 10de:22a3 sub=10de:1796
        0000:07:00.0 0000:04:02.0 nvswitch 10de:22a3 sub=10de:1796
        0000:08:00.0 0000:04:03.0 nvswitch 10de:22a3 sub=10de:1796
        0000:00:1c.0 - rp 8086:1bb8 link=2/1
        0000:02:00.0 0000:00:1c.0 ep 1a03:2000 class=0x030000 drv=ast link=2/1 bar=0:64M:m32,1:256K:m32
        # socket 0: GPU 0-3, each with its NIC behind one switch
        0000:15:00.0 - hostbridge 8086:09a2
        0000:15:01.0 - rp 8086:352a
        0000:16:00.0 0000:15:01.0 usp 1000:c030 sub=1000:100b
        0000:17:00.0 0000:16:00.0 dsp 1000:c030 sub=1000:100b
        0000:17:01.0 0000:16:00.0 dsp 1000:c030 sub=1000:100b
        0000:18:00.0 0000:17:00.0 gpu 10de:2330 sub=10de:16c1
        0000:19:00.0 0000:17:01.0 nic 15b3:1021 sub=15b3:0023
        0000:26:00.0 - hostbridge 8086:09a2
        0000:26:01.0 - rp 8086:352a
        0000:27:00.0 0000:26:01.0 usp 1000:c030 sub=1000:100b
        0000:28:00.0 0000:27:00.0 dsp 1000:c030 sub=1000:100b
        0000:28:01.0 0000:27:00.0 dsp 1000:c030 sub=1000:100b
        0000:29:00.0 0000:28:00.0 gpu 10de:2330 sub=10de:16c1
        0000:2a:00.0 0000:28:01.0 nic 15b3:1021 sub=15b3:0023
        0000:37:00.0 - hostbridge 8086:09a2
        0000:37:01.0 - rp 8086:352a
        0000:38:00.0 0000:37:01.0 usp 1000:c030 sub=1000:100b
        0000:39:00.0 0000:38:00.0 dsp 1000:c030 sub=1000:100b
        0000:39:01.0 0000:38:00.0 dsp 1000:c030 sub=1000:100b
        0000:3a:00.0 0000:39:00.0 gpu 10de:2330 sub=10de:16c1
        0000:3b:00.0 0000:39:01.0 nic 15b3:1021 sub=15b3:0023
        0000:45:00.0 - hostbridge 8086:09a2
        0000:45:01.0 - rp 8086:352a
        0000:46:00.0 0000:45:01.0 usp 1000:c030 sub=1000:100b
        0000:47:00.0 0000:46:00.0 dsp 1000:c030 sub=1000:100b
        0000:47:01.0 0000:46:00.0 dsp 1000:c030 sub=1000:100b
        0000:48:00.0 0000:47:00.0 gpu 10de:2330 sub=10de:16c1
        0000:49:00.0 0000:47:01.0 nic 15b3:1021 sub=15b3:0023
        uncore 0000:7e 24 numa=0
        uncore 0000:7f 24 numa=0
        # socket 1: boot NVMe, GPU 4-7 with their NICs
        0000:80:00.0 - hostbridge 8086:09a2 numa=1
        0000:80:01.0 - rp 8086:352a numa=1
        0000:81:00.0 0000:80:01.0 ep 144d:a80a class=0x010802 drv=nvme link=4/4 bar=0:16K:m64
        0000:96:00.0 - hostbridge 8086:09a2 numa=1
        0000:96:01.0 - rp 8086:352a numa=1
        0000:97:00.0 0000:96:01.0 usp 1000:c030 sub=1000:100b
        0000:98:00.0 0000:97:00.0 dsp 1000:c030 sub=1000:100b
        0000:98:01.0 0000:97:00.0 dsp 1000:c030 sub=1000:100b
        0000:99:00.0 0000:98:00.0 gpu 10de:2330 sub=10de:16c1
        0000:9a:00.0 0000:98:01.0 nic 15b3:1021 sub=15b3:0023
        0000:b5:00.0 - hostbridge 8086:09a2 numa=1
        0000:b5:01.0 - rp 8086:352a numa=1
        0000:b6:00.0 0000:b5:01.0 usp 1000:c030 sub=1000:100b
        0000:b7:00.0 0000:b6:00.0 dsp 1000:c030 sub=1000:100b
        0000:b7:01.0 0000:b6:00.0 dsp 1000:c030 sub=1000:100b
        0000:b8:00.0 0000:b7:00.0 gpu 10de:2330 sub=10de:16c1
        0000:b9:00.0 0000:b7:01.0 nic 15b3:1021 sub=15b3:0023
        0000:c6:00.0 - hostbridge 8086:09a2 numa=1
        0000:c6:01.0 - rp 8086:352a numa=1
        0000:c7:00.0 0000:c6:01.0 usp 1000:c030 sub=1000:100b
        0000:c8:00.0 0000:c7:00.0 dsp 1000:c030 sub=1000:100b
        0000:c8:01.0 0000:c7:00.0 dsp 1000:c030 sub=1000:100b
        0000:c9:00.0 0000:c8:00.0 gpu 10de:2330 sub=10de:16c1
        0000:ca:00.0 0000:c8:01.0 nic 15b3:1021 sub=15b3:0023
        0000:d6:00.0 - hostbridge 8086:09a2 numa=1
        0000:d6:01.0 - rp 8086:352a numa=1
        0000:d7:00.0 0000:d6:01.0 usp 1000:c030 sub=1000:100b
        0000:d8:00.0 0000:d7:00.0 dsp 1000:c030 sub=1000:100b
        0000:d8:01.0 0000:d7:00.0 dsp 1000:c030 sub=1000:100b
        0000:d9:00.0 0000:d8:00.0 gpu 10de:2330 sub=10de:16c1
        0000:da:00.0 0000:d8:01.0 nic 15b3:1021 sub=15b3:0023
        uncore 0000:fe 24 numa=1
        uncore 0000:ff 24 numa=1
        """;

    /// <summary>
    /// Lenovo SD665-N V3, HGX H100 4-GPU (lspci-t_lenovo-sd665n-v3_hgx-h100-4gpu): each GPU sits behind a
    /// ConnectX-7's internal switch (MT2910 PCIe Bridge 15b3:1979 in pci.ids), no PEX switch and no NVSwitch.
    /// The two nested "bridge" hops of the sample are modelled as the internal switch's second stage.
    /// </summary>
    public const string Lenovo4Gpu = """
        iommufd on
        0000:00:00.0 - hostbridge 1022:14a4
        0000:00:01.1 - rp 1022:14ab
        0000:01:00.0 0000:00:01.1 usp 15b3:1979
        0000:02:00.0 0000:01:00.0 dsp 15b3:1979
        0000:03:00.0 0000:02:00.0 nic 15b3:1021 class=0x020000 sub=15b3:0041
        0000:02:02.0 0000:01:00.0 dsp 15b3:1979
        0000:04:00.0 0000:02:02.0 usp 15b3:1979
        0000:05:00.0 0000:04:00.0 dsp 15b3:1979
        0000:06:00.0 0000:05:00.0 gpu 10de:2330 sub=10de:16c1
        0000:20:00.0 - hostbridge 1022:14a4
        0000:20:01.1 - rp 1022:14ab
        0000:21:00.0 0000:20:01.1 usp 15b3:1979
        0000:22:00.0 0000:21:00.0 dsp 15b3:1979
        0000:23:00.0 0000:22:00.0 nic 15b3:1021 class=0x020000 sub=15b3:0041
        0000:22:02.0 0000:21:00.0 dsp 15b3:1979
        0000:24:00.0 0000:22:02.0 usp 15b3:1979
        0000:25:00.0 0000:24:00.0 dsp 15b3:1979
        0000:26:00.0 0000:25:00.0 gpu 10de:2330 sub=10de:16c1
        0000:40:00.0 - hostbridge 1022:14a4
        0000:40:01.3 - rp 1022:14ab
        0000:42:00.0 0000:40:01.3 nic 15b3:101f class=0x020000 group=400 link=4/8
        0000:42:00.1 0000:40:01.3 nic 15b3:101f class=0x020000 group=400 link=4/8
        0000:60:00.0 - hostbridge 1022:14a4
        0000:60:01.2 - rp 1022:14ab
        0000:61:00.0 0000:60:01.2 ep 144d:a80a class=0x010802 drv=nvme link=4/4 bar=0:16K:m64
        0000:60:05.3 - rp 1022:14ab link=2/1
        0000:62:00.0 0000:60:05.3 ep 1a03:2000 class=0x030000 drv=ast link=2/1 bar=0:64M:m32,1:256K:m32
        0000:a0:00.0 - hostbridge 1022:14a4 numa=1
        0000:a0:01.1 - rp 1022:14ab numa=1
        0000:a1:00.0 0000:a0:01.1 usp 15b3:1979
        0000:a2:00.0 0000:a1:00.0 dsp 15b3:1979
        0000:a3:00.0 0000:a2:00.0 nic 15b3:1021 class=0x020000 sub=15b3:0041
        0000:a2:02.0 0000:a1:00.0 dsp 15b3:1979
        0000:a4:00.0 0000:a2:02.0 usp 15b3:1979
        0000:a5:00.0 0000:a4:00.0 dsp 15b3:1979
        0000:a6:00.0 0000:a5:00.0 gpu 10de:2330 sub=10de:16c1
        0000:c0:00.0 - hostbridge 1022:14a4 numa=1
        0000:c0:01.1 - rp 1022:14ab numa=1
        0000:c1:00.0 0000:c0:01.1 usp 15b3:1979
        0000:c2:00.0 0000:c1:00.0 dsp 15b3:1979
        0000:c3:00.0 0000:c2:00.0 nic 15b3:1021 class=0x020000 sub=15b3:0041
        0000:c2:02.0 0000:c1:00.0 dsp 15b3:1979
        0000:c4:00.0 0000:c2:02.0 usp 15b3:1979
        0000:c5:00.0 0000:c4:00.0 dsp 15b3:1979
        0000:c6:00.0 0000:c5:00.0 gpu 10de:2330 sub=10de:16c1
        """;

    /// <summary>A single H100 PCIe (10de:2331) on a root port, as in Contrast's tested setup; CX6 Dx on another root port.</summary>
    public const string SingleGpu = """
        iommufd on
        0000:00:00.0 - hostbridge 8086:09a2
        0000:00:01.0 - rp 8086:352a
        0000:01:00.0 0000:00:01.0 gpu 10de:2331 sub=10de:1626
        0000:00:02.0 - rp 8086:352a
        0000:02:00.0 0000:00:02.0 nic 15b3:101d class=0x020000 sub=15b3:0016
        0000:00:03.0 - rp 8086:352a
        0000:03:00.0 0000:00:03.0 ep 144d:a80a class=0x010802 drv=nvme link=4/4 bar=0:16K:m64
        uncore 0000:ff 16
        """;
}
