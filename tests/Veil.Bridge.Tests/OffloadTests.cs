using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Tests;

/// <summary>Weight offload with each side on its own path; the copy-bandwidth cap and why overlap removes it.</summary>
public class OffloadTests
{
    /// <summary>
    /// The CC ÷ non-CC throughput of an offload workload used to be floored by the copy-bandwidth ratio r = cc.gbps ÷
    /// off.gbps: with the non-CC side doing the same copies in series, ratio = (c_off + g) ÷ (c_cc + g), and adding the
    /// same GPU time g to both sides only pulls it towards 1 (≥ c_off ÷ c_cc = r). When the non-CC side prefetches on a
    /// side stream its step is max(c_off, g) instead of c_off + g, while the CC side, copying serially through the
    /// bounce buffer, still pays c_cc + g; the ratio then drops below r (the CC slowdown exceeds 1 ÷ r).
    /// </summary>
    [Theory]
    [InlineData("h100-snp")]
    [InlineData("h100-tdx")]
    public void Non_cc_overlap_removes_the_copy_bandwidth_cap(string platform)
    {
        var p = PlatformCatalog.Resolve(platform);
        var w = WorkloadCatalog.Resolve("offload-prefetch");
        var o = w.Offload!;
        const int C = 64;
        var r = p.On.HostToDevice.BandwidthGBps / p.Off.HostToDevice.BandwidthGBps;
        double Ratio(Workload x) => ScenarioRunner.Run(p, x, true, C).UnitsPerSecond / ScenarioRunner.Run(p, x, false, C).UnitsPerSecond;

        var serial = w with { Offload = o with { Off = o.Off with { Path = OffloadPath.Serial } } };
        Assert.True(Ratio(serial) >= r, $"serial non-CC: {Ratio(serial):F4} should not fall below r = {r:F4}");
        Assert.True(Ratio(w) < r, $"prefetching non-CC: {Ratio(w):F4} should fall below r = {r:F4}");

        // Why: the step times. g is the GPU time per step, c the copy time of the offloaded bytes on each side.
        var layers = w.Model!.Layers;
        var perLayer = (long)(o.Bytes / layers);
        var cOff = layers * p.Off.HostToDevice.ServiceMicros(perLayer, 1);
        var cOn = layers * p.On.HostToDevice.ServiceMicros(perLayer, 1);
        var off = ScenarioRunner.Run(p, w, false, C);
        var g = off.Sim.ComputeBusyMicros / w.Steps;
        var offStep = off.MakespanMicros / w.Steps;
        Assert.InRange(offStep, Math.Max(cOff, g), Math.Max(cOff, g) + (cOff / layers) + 1_000); // overlapped: the longer of the two, plus the first layer's copy
        Assert.True(ScenarioRunner.Run(p, serial, false, C).MakespanMicros / w.Steps >= cOff + g);
        Assert.True(ScenarioRunner.Run(p, w, true, C).MakespanMicros / w.Steps >= cOn + g);
        Assert.True(ScenarioRunner.Run(p, w, true, C).MakespanMicros / off.MakespanMicros > 1 / r);

        // And the cap is about both sides doing the same thing: prefetching on the CC side too brings the ratio back to r.
        var both = w with { Offload = o with { On = o.On with { Path = OffloadPath.Prefetch } } };
        Assert.InRange(Ratio(both), r, r * 1.05);
    }

    [Fact]
    public void Zero_copy_layers_read_offloaded_weights_over_the_link_at_the_same_time_as_hbm()
    {
        var p = PlatformCatalog.Resolve("h100-snp");
        var w = WorkloadCatalog.Resolve("offload");
        var m = w.Model!;
        var load = ProgramBuilder.FixedLoad(w, 16);
        var off = new LayerPlanner(w, p, cc: false).Plan(load, StepPlan.NoTransfers);
        var on = new LayerPlanner(w, p, cc: true).Plan(load, StepPlan.NoTransfers);

        // 4 GB of 0.502 GB layers: layers 0-6 whole, layer 7 in part, the rest resident.
        var layer = m.WeightBytes / m.Layers;
        var kv = load.KvTokensRead * m.KvBytesPerToken / m.Layers;
        var link = p.Off.HostToDevice.BandwidthGBps * 1e3;
        Assert.Equal(Math.Max(p.Gpu.KernelMicros(kv, 2.0 * m.Parameters * 16 / m.Layers), layer / link), off.LayerMicros![0], 6);
        Assert.Equal(p.Gpu.KernelMicros(layer + kv, 2.0 * m.Parameters * 16 / m.Layers), off.LayerMicros[31], 6);
        Assert.Empty(off.Transfers);

        // Under CC the same bytes are copied: six API-level copies per offloaded layer on the compute stream.
        Assert.Equal(8, on.Transfers.Count);
        Assert.All(on.Transfers, t => Assert.Equal((6, CrossingLevel.Api, TransferRoute.ComputeStream), (t.Copies, t.Level, t.Route)));
        Assert.Equal(4e9, on.Transfers.Sum(t => (double)t.Bytes), 1e3);
    }

    [Fact]
    public void Pageable_offload_without_cc_is_staged_at_the_host_copy_rate()
    {
        var p = PlatformCatalog.Resolve("h100-tdx");
        var w = WorkloadCatalog.Resolve("offload-prefetch");
        var pageable = w with { Offload = w.Offload! with { Off = new OffloadSide(OffloadPath.Prefetch, HostMemory.Pageable) } };
        var pinned = ScenarioRunner.Run(p, w, false, 64).MakespanMicros;
        var staged = ScenarioRunner.Run(p, pageable, false, 64).MakespanMicros;
        Assert.True(staged > pinned * (p.Off.HostToDevice.BandwidthGBps / p.Off.HostCopyGBps) * 0.8, $"{staged} vs {pinned}");

        // Under CC both kinds bounce alike.
        Assert.Equal(ScenarioRunner.Run(p, w, true, 64).MakespanMicros, ScenarioRunner.Run(p, w with { Offload = w.Offload with { On = new OffloadSide(OffloadPath.Serial, HostMemory.Pageable) } }, true, 64).MakespanMicros, 6);
    }

    [Theory]
    [InlineData("cc_on: { path: serial, memory: pinned }", "cc_on: { path: zero-copy, memory: pinned }", "cc_on.path")]
    [InlineData("cc_off: { path: prefetch, memory: pinned }", "cc_off: { path: zero-copy, memory: pageable }", "cc_off.memory")]
    [InlineData("cc_off: { path: prefetch, memory: pinned }", "cc_off: { path: teleport }", "cc_off.path")]
    [InlineData("  bytes: 1000000000\n", "  bytes: 1e12\n", "offload.bytes")]
    [InlineData("  layout: spread\n", "  layout: random\n", "offload.layout")]
    public void Bad_offload_names_the_field(string from, string to, string field)
    {
        var yaml = YamlData.Resource("workloads/offload-prefetch.yaml");
        Assert.Contains(from, yaml, StringComparison.Ordinal);
        var e = Assert.Throws<BridgeInputException>(() => WorkloadCatalog.Parse(yaml.Replace(from, to, StringComparison.Ordinal), "o.yaml"));
        Assert.Contains(field, e.Message);
    }
}
