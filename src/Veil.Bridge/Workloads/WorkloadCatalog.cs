using Veil.Bridge.Engine;
using static Veil.Bridge.Workloads.FieldChecks;

namespace Veil.Bridge.Workloads;

/// <summary>Built-in workloads (embedded YAML) and the loader and checks for workload files.</summary>
internal static class WorkloadCatalog
{
    /// <summary>Bounds that keep one simulation to seconds, not hours.</summary>
    internal const int MaxSteps = 100_000;
    internal const int MaxConcurrency = 65_536;
    internal const int MaxCrossings = 64;
    internal const long MaxChunks = 2_000_000;

    private static readonly Lazy<IReadOnlyDictionary<string, Workload>> BuiltIn = new(LoadBuiltIn);

    /// <summary>The seed's cases: what <c>veil bridge simulate --workload</c> offers by name.</summary>
    public static IReadOnlyList<string> SeedIds { get; } = ["decode", "kv-restore", "model-load", "offload", "serving-mix", "offload-prefetch", "kv-swap-vllm", "kv-swap-sglang"];

    public static IReadOnlyCollection<Workload> All => [.. BuiltIn.Value.Values.OrderBy(w => w.Id, StringComparer.Ordinal)];

    /// <summary>A built-in id, or the path of a workload YAML file.</summary>
    public static Workload Resolve(string idOrPath)
    {
        if (BuiltIn.Value.TryGetValue(idOrPath, out var w))
        {
            return w;
        }

        if (idOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || idOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
        {
            return Parse(YamlData.ReadFile(idOrPath, "--workload"), idOrPath);
        }

        throw new BridgeInputException("--workload", $"unknown workload '{idOrPath}' (built-in: {string.Join(", ", BuiltIn.Value.Keys.Order(StringComparer.Ordinal))}, or a .yaml file)");
    }

    internal static Workload Parse(string yaml, string origin)
    {
        var d = YamlData.Parse<WorkloadDto>(yaml, origin);
        string F(string field) => $"{origin}: {field}";
        var id = NonEmpty(d.Id, F("id"));
        var kind = Enum<WorkloadKind>(d.Kind, F("kind"));
        var w = new Workload
        {
            Id = id,
            Kind = kind,
            Description = NonEmpty(d.Description, F("description")),
            Source = d.Source?.Trim() ?? string.Empty,
            Numa = d.Numa is null ? NumaPlacement.Local : Enum<NumaPlacement>(d.Numa, F("numa")),
            Jitter = Range(d.Jitter ?? 0, 0, 0.5, F("jitter")),
        };

        if (kind == WorkloadKind.Transfer)
        {
            if (d.Requests is not null || d.KvCache is not null || d.Offload is not null || d.MeasuredOff is not null || d.Batching is not null)
            {
                throw new BridgeInputException(F("kind"), "requests, batching, kv_cache, offload and measured_off belong to serving workloads");
            }

            return w with { Transfer = Transfer(d.Transfer ?? throw new BridgeInputException(F("transfer"), "required for kind transfer"), F) };
        }

        ModelSpec? model = null;
        if (d.Model is { } m)
        {
            model = new ModelSpec(
                NonEmpty(m.Name, F("model.name")),
                Range(m.Parameters ?? -1, 1, 1e14, F("model.parameters")),
                Range(m.BytesPerParam ?? -1, 0.0625, 8, F("model.bytes_per_param")),
                Range(m.KvBytesPerToken ?? 0, 0, 1e9, F("model.kv_bytes_per_token")),
                Int(m.Layers ?? 32, 1, 1024, F("model.layers")));
        }

        var sources = (model is null ? 0 : 1) + (d.StepComputeUs is null ? 0 : 1) + (d.MeasuredOffStepUs is null ? 0 : 1);
        if (sources != 1)
        {
            throw new BridgeInputException(F("model"), "give exactly one of model, step_compute_us, measured_off_step_us");
        }

        var requests = d.Requests is null ? null : WorkloadSections.Requests(d.Requests, F("requests"));
        if (requests is not null)
        {
            if (model is null)
            {
                throw new BridgeInputException(F("requests"), "a request mix needs a model: each step's GPU time follows from its batch");
            }

            if (d.PrefillTokens is not null || d.ContextTokens is not null || d.Steps is not null)
            {
                throw new BridgeInputException(F("requests"), "prefill_tokens, context_tokens and steps follow from the request mix; leave them out");
            }

            if (requests.ArrivalRate is not null && d.Concurrency is not null)
            {
                throw new BridgeInputException(F("concurrency"), "an arrival_rate (open loop) and concurrency levels (closed loop) exclude each other");
            }
        }
        else if (d.KvCache is not null || d.MeasuredOff is not null || d.Batching is not null)
        {
            throw new BridgeInputException(F("requests"), "batching, kv_cache and measured_off need a request mix (requests:)");
        }

        var concurrency = d.Concurrency ?? [1];
        if (concurrency.Count is 0 or > 64)
        {
            throw new BridgeInputException(F("concurrency"), "give 1 to 64 values");
        }

        foreach (var c in concurrency)
        {
            Range(c, 1, MaxConcurrency, F("concurrency"));
        }

        var crossings = Crossings(d.Crossings, F);
        return w with
        {
            Model = model,
            StepComputeMicros = d.StepComputeUs is double sc ? Range(sc, 0, 1e9, F("step_compute_us")) : null,
            MeasuredOffStepMicros = d.MeasuredOffStepUs is double mo ? Range(mo, 1e-3, 1e9, F("measured_off_step_us")) : null,
            PrefillTokens = (int)Range(d.PrefillTokens ?? 0, 0, 10_000_000, F("prefill_tokens")),
            ContextTokens = (int)Range(d.ContextTokens ?? 0, 0, 10_000_000, F("context_tokens")),
            Concurrency = concurrency,
            Steps = (int)Range(d.Steps ?? 1, 1, MaxSteps, F("steps")),
            CpuMicrosPerStep = Range(d.CpuUsPerStep ?? 0, 0, 1e9, F("cpu_us_per_step")),
            LaunchesPerStep = (int)Range(d.LaunchesPerStep ?? 1, 0, 1_000_000, F("launches_per_step")),
            PrefillLaunchesPerStep = d.PrefillLaunchesPerStep is double pl ? Int(pl, 0, 1_000_000, F("prefill_launches_per_step")) : null,
            Scheduling = d.Scheduling is null ? Scheduling.Sync : Enum<Scheduling>(d.Scheduling, F("scheduling")),
            Crossings = crossings,
            Requests = requests,
            Batching = WorkloadSections.Batching(d.Batching, F("batching")),
            KvCache = d.KvCache is null ? null : WorkloadSections.KvCache(d.KvCache, model, requests, F("kv_cache")),
            Offload = d.Offload is null ? null : WorkloadSections.Offload(d.Offload, model, F("offload")),
            MeasuredOff = d.MeasuredOff is null ? null : WorkloadSections.MeasuredOff(d.MeasuredOff, F("measured_off")),
        };
    }

    private static TransferSpec Transfer(TransferDto t, Func<string, string> f)
    {
        var total = (long)Range(t.TotalBytes ?? -1, 1, 1e15, f("transfer.total_bytes"));
        var chunk = (long)Range(t.ChunkBytes ?? -1, 1, 1e13, f("transfer.chunk_bytes"));
        if ((total + chunk - 1) / chunk > MaxChunks)
        {
            throw new BridgeInputException(f("transfer.chunk_bytes"), $"more than {MaxChunks} chunks");
        }

        double? measured = t.MeasuredOffS is double s ? Range(s, 1e-9, 1e7, f("transfer.measured_off_s")) * 1e6 : null;
        return new TransferSpec(
            Direction(t.Direction ?? "h2d", f("transfer.direction")),
            total,
            chunk,
            t.Level is null ? CrossingLevel.Dma : Enum<CrossingLevel>(t.Level, f("transfer.level")),
            t.Blocking ?? false,
            t.HostGather ?? false,
            t.AllocInit ?? false,
            measured);
    }

    private static List<Crossing> Crossings(List<CrossingDto?>? list, Func<string, string> f)
    {
        var crossings = new List<Crossing>();
        foreach (var (c, i) in (list ?? []).Select((c, i) => (c, i)))
        {
            string G(string field) => f($"crossings[{i}].{field}");
            if (c is null)
            {
                throw new BridgeInputException(f($"crossings[{i}]"), "empty entry");
            }

            crossings.Add(new Crossing(
                NonEmpty(c.Name, G("name")),
                Direction(c.Direction, G("direction")),
                (long)Range(c.Bytes ?? 0, 0, 1e12, G("bytes")),
                (long)Range(c.BytesPerSeq ?? 0, 0, 1e9, G("bytes_per_seq")),
                c.Level is null ? CrossingLevel.Dma : Enum<CrossingLevel>(c.Level, G("level")),
                Enum<CrossingPhase>(c.Phase, G("phase")),
                c.AsyncOnly ?? false,
                c.Blocking ?? false,
                c.SyncLevel is null ? null : Enum<CrossingLevel>(c.SyncLevel, G("sync_level")),
                (long)Range(c.BytesPerToken ?? 0, 0, 1e9, G("bytes_per_token")),
                c.Memory is null ? HostMemory.Pinned : Enum<HostMemory>(c.Memory, G("memory"))));
        }

        return crossings.Count > MaxCrossings ? throw new BridgeInputException(f("crossings"), $"more than {MaxCrossings}") : crossings;
    }

    private static Dictionary<string, Workload> LoadBuiltIn()
    {
        var d = new Dictionary<string, Workload>(StringComparer.Ordinal);
        foreach (var name in YamlData.ResourceNames("workloads"))
        {
            var w = Parse(YamlData.Resource(name), name);
            d.Add(w.Id, w);
        }

        return d;
    }
}
