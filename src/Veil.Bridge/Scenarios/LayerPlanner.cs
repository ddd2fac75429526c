using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>
/// GPU time of a step from the model (a roofline per layer on the platform's GPU) and the transfers its offloaded
/// weights need on the side being simulated: the program differs between CC off and on only where the workload says
/// the two sides take different paths (zero-copy is refused under CC).
/// </summary>
internal sealed class LayerPlanner(Workload w, PlatformProfile platform, bool cc)
{
    /// <summary>Side stream of offloaded-weight prefetches.</summary>
    public const int OffloadStream = 4;

    /// <summary>Side stream of KV write-back and load-back (SGLang's hierarchical cache).</summary>
    public const int KvStream = 5;

    public const int Streams = 6;

    private readonly GpuSpec gpu = platform.Gpu;

    /// <summary>Roofline time of a whole step: weights and the KV read from HBM, or the FLOPs, whichever is slower.</summary>
    public double StepMicros(StepLoad load)
    {
        var m = w.Model ?? throw new BridgeInputException($"{w.Id}: model", "needed to compute step time");
        var bytes = m.WeightBytes + (load.KvTokensRead * m.KvBytesPerToken);
        return gpu.KernelMicros(bytes, 2.0 * m.Parameters * load.Tokens) * w.GpuScale;
    }

    /// <summary>The plan of a step: one kernel time, or per-layer times and transfers when weights are offloaded.</summary>
    public StepPlan Plan(StepLoad load, IReadOnlyList<LayerTransfer> kvTransfers)
    {
        var offload = w.Offload;
        if (offload is null && kvTransfers.All(t => t.Layer < 0))
        {
            return new StepPlan(load, StepMicros(load), null, kvTransfers);
        }

        var m = w.Model!;
        var layers = m.Layers;
        var perLayerWeights = m.WeightBytes / layers;
        var kv = load.KvTokensRead * m.KvBytesPerToken / layers;
        var flops = 2.0 * m.Parameters * load.Tokens / layers;
        var side = offload?.For(cc);
        var link = platform.Off.HostToDevice.BandwidthGBps * 1e9;
        var times = new double[layers];
        var transfers = new List<LayerTransfer>(kvTransfers);
        var left = offload?.Bytes ?? 0;
        var share = offload is { Layout: OffloadLayout.Spread } ? offload.Bytes / layers : perLayerWeights;
        for (var i = 0; i < layers; i++)
        {
            var offloaded = Math.Min(left, share);
            left -= offloaded;
            var roofline = gpu.KernelMicros(perLayerWeights + kv, flops) * w.GpuScale;
            if (offloaded <= 0 || side is null)
            {
                times[i] = roofline;
                continue;
            }

            if (side.Path == OffloadPath.ZeroCopy)
            {
                // The layer's kernels read the offloaded part over the link instead of from HBM, at the same time.
                var resident = gpu.KernelMicros(perLayerWeights - offloaded + kv, flops) * w.GpuScale;
                times[i] = Math.Max(resident, offloaded / link * 1e6);
                continue;
            }

            times[i] = roofline;
            var prefetch = side.Path == OffloadPath.Prefetch;
            transfers.Add(new LayerTransfer(
                i,
                Direction.HostToDevice,
                (long)offloaded,
                offload!.TensorsPerLayer,
                offload.Level,
                side.Memory,
                prefetch ? TransferRoute.SideStream : TransferRoute.ComputeStream,
                OffloadStream,
                Ahead: prefetch));
        }

        return new StepPlan(load, times.Sum(), times, transfers);
    }
}
