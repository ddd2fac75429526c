using Veil.Bridge.Engine;

namespace Veil.Bridge.Platforms;

/// <summary>One number of a profile and where it came from.</summary>
internal sealed record SourcedValue(double Value, string Unit, string Source);

/// <summary>GPU throughput used to turn a model description into kernel time (a roofline).</summary>
internal sealed record GpuSpec(double HbmTBps, double Bf16Tflops, double MemoryEfficiency, double FlopsEfficiency)
{
    /// <summary>Kernel time in µs for moving <paramref name="bytes"/> and doing <paramref name="flops"/>: the slower of the two.</summary>
    public double KernelMicros(double bytes, double flops) =>
        Math.Max(bytes / (HbmTBps * 1e12 * MemoryEfficiency), flops / (Bf16Tflops * 1e12 * FlopsEfficiency)) * 1e6;
}

/// <summary>A platform (GPU + CPU TEE) with the engine parameters for CC on and off; every number cites its source.</summary>
internal sealed class PlatformProfile
{
    internal PlatformProfile(string id, string name, string testbed, IReadOnlyDictionary<string, SourcedValue> parameters)
    {
        Id = id;
        Name = name;
        Testbed = testbed;
        Parameters = parameters;
        Gpu = new GpuSpec(Get("gpu.hbm_tbps"), Get("gpu.bf16_tflops"), Get("gpu.mem_efficiency"), Get("gpu.flops_efficiency"));
        Off = Build(cc: false);
        On = Build(cc: true);
    }

    /// <summary>Every parameter the engine reads; a profile must give each, with a source.</summary>
    public static IReadOnlyList<string> RequiredParameters { get; } =
    [
        "gpu.hbm_tbps", "gpu.bf16_tflops", "gpu.mem_efficiency", "gpu.flops_efficiency",
        "off.h2d.toll_us", "off.h2d.gbps", "off.d2h.toll_us", "off.d2h.gbps", "off.api_toll_us", "off.pageable_toll_us", "off.launch_us", "off.alloc_init_s",
        "cc.h2d.toll_us", "cc.h2d.gbps", "cc.d2h.toll_us", "cc.d2h.gbps", "cc.h2d.api_toll_us", "cc.d2h.api_toll_us",
        "cc.launch_us", "cc.compute_factor", "cc.alloc_init_s",
        "host.staging_bytes", "host.chunk_toll_us", "host.remote_numa_factor", "host.copy_gbps",
    ];

    public string Id { get; }

    public string Name { get; }

    /// <summary>The machine(s) the microbenchmarks come from.</summary>
    public string Testbed { get; }

    public IReadOnlyDictionary<string, SourcedValue> Parameters { get; }

    internal GpuSpec Gpu { get; }

    internal BridgeParameters Off { get; }

    internal BridgeParameters On { get; }

    internal BridgeParameters For(bool cc) => cc ? On : Off;

    private double Get(string name) => Parameters[name].Value;

    private BridgeParameters Build(bool cc)
    {
        var prefix = cc ? "cc" : "off";
        var offApi = Get("off.api_toll_us");
        return new BridgeParameters
        {
            ConfidentialComputing = cc,
            HostToDevice = new CopyCost(Get($"{prefix}.h2d.toll_us"), Get($"{prefix}.h2d.gbps"), cc ? Get("cc.h2d.api_toll_us") : offApi),
            DeviceToHost = new CopyCost(Get($"{prefix}.d2h.toll_us"), Get($"{prefix}.d2h.gbps"), cc ? Get("cc.d2h.api_toll_us") : offApi),
            LaunchMicros = Get($"{prefix}.launch_us"),
            ComputeFactor = cc ? Get("cc.compute_factor") : 1.0,
            StagingBytes = (long)Get("host.staging_bytes"),
            ChunkTollMicros = Get("host.chunk_toll_us"),
            RemoteNumaBandwidthFactor = cc ? Get("host.remote_numa_factor") : 1.0,
            HostCopyGBps = Get("host.copy_gbps"),
            AllocInitMicros = Get($"{prefix}.alloc_init_s") * 1e6,
            PageableTollMicros = cc ? 0 : Get("off.pageable_toll_us"),
        };
    }
}
