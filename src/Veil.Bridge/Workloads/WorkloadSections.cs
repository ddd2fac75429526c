using Veil.Bridge.Engine;
using static Veil.Bridge.Workloads.FieldChecks;

namespace Veil.Bridge.Workloads;

/// <summary>The request-mix, batching, KV-cache, offload and calibration sections of a serving workload file.</summary>
internal static class WorkloadSections
{
    internal const int MaxRequests = 100_000;
    internal const int MaxTokens = 1_000_000;

    public static RequestMix Requests(RequestsDto d, string field)
    {
        var prompt = Length(d.PromptTokens, $"{field}.prompt_tokens");
        var output = Length(d.OutputTokens, $"{field}.output_tokens");
        double? rate = d.ArrivalRate is double r ? Range(r, 1e-6, 1e6, $"{field}.arrival_rate") : null;
        if ((d.Count ?? 0) == 0 && (d.PerConcurrency ?? 0) == 0)
        {
            throw new BridgeInputException($"{field}.count", "give count or per_concurrency: no request would run");
        }

        if (rate is not null && (d.PerConcurrency ?? 0) > 0)
        {
            throw new BridgeInputException($"{field}.per_concurrency", "an open-loop mix (arrival_rate) has a fixed count");
        }

        return new RequestMix(
            prompt,
            output,
            Int(d.Count ?? -1, 0, MaxRequests, $"{field}.count"),
            Int(d.PerConcurrency ?? 0, 0, 64, $"{field}.per_concurrency"),
            rate);
    }

    public static BatchingSpec Batching(BatchingDto? d, string field) => d is null
        ? BatchingSpec.Default
        : new BatchingSpec(
            Int(d.MaxNumSeqs ?? BatchingSpec.Default.MaxSequences, 1, WorkloadCatalog.MaxConcurrency, $"{field}.max_num_seqs"),
            Int(d.MaxBatchedTokens ?? BatchingSpec.Default.MaxBatchedTokens, 1, MaxTokens, $"{field}.max_batched_tokens"),
            d.ChunkedPrefill ?? true);

    public static KvCacheSpec KvCache(KvCacheDto d, ModelSpec? model, RequestMix? requests, string field)
    {
        if (model is not { KvBytesPerToken: > 0 })
        {
            throw new BridgeInputException(field, "needs a model with kv_bytes_per_token > 0 (the block size in bytes follows from it)");
        }

        if (requests is null)
        {
            throw new BridgeInputException(field, "needs a request mix (requests:): the swap volume follows from it");
        }

        var block = Int(d.BlockTokens ?? -1, 1, 4096, $"{field}.block_tokens");
        var gpu = Range(d.GpuCacheBytes ?? -1, 1, 1e13, $"{field}.gpu_cache_bytes");
        var longest = (double)(requests.Prompt.Max + requests.Output.Max + block) * model.KvBytesPerToken;
        if (gpu < longest)
        {
            throw new BridgeInputException($"{field}.gpu_cache_bytes", $"{gpu:G4} bytes cannot hold the longest request ({longest:G4} bytes of KV): nothing could run");
        }

        return new KvCacheSpec(Enum<KvStyle>(d.Style, $"{field}.style"), block, gpu, Range(d.HostCacheBytes ?? 0, 0, 1e14, $"{field}.host_cache_bytes"));
    }

    public static OffloadSpec Offload(OffloadDto d, ModelSpec? model, string field)
    {
        if (model is null)
        {
            throw new BridgeInputException(field, "needs a model (layers and weight bytes say which layers are offloaded)");
        }

        var bytes = Range(d.Bytes ?? -1, 1, model.WeightBytes, $"{field}.bytes");
        var off = Side(d.CcOff, $"{field}.cc_off");
        var on = Side(d.CcOn, $"{field}.cc_on");
        if (on.Path == OffloadPath.ZeroCopy)
        {
            throw new BridgeInputException($"{field}.cc_on.path", "zero-copy is unavailable under CC: UVA views of host memory go stale (notes §3.6, vLLM #57224); use serial or prefetch");
        }

        return new OffloadSpec(
            bytes,
            Int(d.TensorsPerLayer ?? 1, 1, 1024, $"{field}.tensors_per_layer"),
            d.Level is null ? CrossingLevel.Dma : Enum<CrossingLevel>(d.Level, $"{field}.level"),
            off,
            on,
            d.Layout is null ? OffloadLayout.Leading : Enum<OffloadLayout>(d.Layout, $"{field}.layout"));
    }

    public static ServingTarget MeasuredOff(MeasuredOffDto d, string field)
    {
        var given = new (double? Value, ServingTargetKind Kind, string Name)[]
        {
            (d.RequestsPerS, ServingTargetKind.RequestsPerSecond, "requests_per_s"),
            (d.OutputTokensPerS, ServingTargetKind.OutputTokensPerSecond, "output_tokens_per_s"),
            (d.TtftMs, ServingTargetKind.TtftMillis, "ttft_ms"),
        }.Where(g => g.Value is not null).ToList();
        if (given.Count != 1)
        {
            throw new BridgeInputException(field, "give exactly one of requests_per_s, output_tokens_per_s, ttft_ms");
        }

        return new ServingTarget(given[0].Kind, Range(given[0].Value!.Value, 1e-9, 1e9, $"{field}.{given[0].Name}"));
    }

    private static OffloadSide Side(OffloadSideDto? d, string field)
    {
        if (d is null)
        {
            throw new BridgeInputException(field, "missing: say which path this side takes (serial, prefetch, zero-copy)");
        }

        var side = new OffloadSide(Enum<OffloadPath>(d.Path, $"{field}.path"), d.Memory is null ? HostMemory.Pinned : Enum<HostMemory>(d.Memory, $"{field}.memory"));
        return side is { Path: OffloadPath.ZeroCopy, Memory: HostMemory.Pageable }
            ? throw new BridgeInputException($"{field}.memory", "zero-copy reads need pinned (mapped) host memory, not pageable")
            : side;
    }

    private static LengthDistribution Length(LengthDto? d, string field)
    {
        if (d is null)
        {
            throw new BridgeInputException(field, "missing (e.g. { dist: lognormal, mean: 230, sigma: 0.8, min: 4, max: 1024 })");
        }

        var shape = d.Dist is null ? LengthShape.Fixed : Enum<LengthShape>(d.Dist, $"{field}.dist");
        var mean = Range(d.Mean ?? -1, 1, MaxTokens, $"{field}.mean");
        if (shape == LengthShape.Fixed)
        {
            return d.Min is null && d.Max is null && d.Sigma is null
                ? LengthDistribution.Fixed(Int(mean, 1, MaxTokens, $"{field}.mean"))
                : throw new BridgeInputException(field, "a fixed length takes only mean");
        }

        var min = Int(d.Min ?? 1, 1, MaxTokens, $"{field}.min");
        var max = Int(d.Max ?? MaxTokens, min, MaxTokens, $"{field}.max");
        if (mean < min || mean > max)
        {
            throw new BridgeInputException($"{field}.mean", $"{mean} is outside [min {min}, max {max}]");
        }

        if (shape == LengthShape.Uniform && Math.Abs(mean - ((min + max) / 2.0)) > 0.5)
        {
            throw new BridgeInputException($"{field}.mean", $"a uniform length between {min} and {max} has mean {(min + max) / 2.0}, not {mean}");
        }

        var sigma = shape == LengthShape.Lognormal ? Range(d.Sigma ?? -1, 0.01, 3, $"{field}.sigma") : 0;
        return d.Sigma is not null && shape != LengthShape.Lognormal
            ? throw new BridgeInputException($"{field}.sigma", "only a lognormal length has a sigma")
            : new LengthDistribution(shape, mean, sigma, min, max);
    }
}
