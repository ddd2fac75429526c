using System.Diagnostics.CodeAnalysis;
using Veil.Bridge.Engine;

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
    public static IReadOnlyList<string> SeedIds { get; } = ["decode", "kv-restore", "model-load", "offload"];

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
        var kind = ParseEnum<WorkloadKind>(d.Kind, F("kind"));
        var w = new Workload
        {
            Id = id,
            Kind = kind,
            Description = NonEmpty(d.Description, F("description")),
            Source = d.Source?.Trim() ?? string.Empty,
            Numa = d.Numa is null ? NumaPlacement.Local : ParseEnum<NumaPlacement>(d.Numa, F("numa")),
            Jitter = Range(d.Jitter ?? 0, 0, 0.5, F("jitter")),
        };

        if (kind == WorkloadKind.Transfer)
        {
            var t = d.Transfer ?? throw new BridgeInputException(F("transfer"), "required for kind transfer");
            var total = (long)Range(t.TotalBytes ?? -1, 1, 1e15, F("transfer.total_bytes"));
            var chunk = (long)Range(t.ChunkBytes ?? -1, 1, 1e13, F("transfer.chunk_bytes"));
            if ((total + chunk - 1) / chunk > MaxChunks)
            {
                throw new BridgeInputException(F("transfer.chunk_bytes"), $"more than {MaxChunks} chunks");
            }

            double? measured = t.MeasuredOffS is double s ? Range(s, 1e-9, 1e7, F("transfer.measured_off_s")) * 1e6 : null;
            return w with
            {
                Transfer = new TransferSpec(
                    ParseDirection(t.Direction ?? "h2d", F("transfer.direction")),
                    total,
                    chunk,
                    t.Level is null ? CrossingLevel.Dma : ParseEnum<CrossingLevel>(t.Level, F("transfer.level")),
                    t.Blocking ?? false,
                    t.HostGather ?? false,
                    t.AllocInit ?? false,
                    measured),
            };
        }

        ModelSpec? model = null;
        if (d.Model is { } m)
        {
            model = new ModelSpec(
                NonEmpty(m.Name, F("model.name")),
                Range(m.Parameters ?? -1, 1, 1e14, F("model.parameters")),
                Range(m.BytesPerParam ?? -1, 0.0625, 8, F("model.bytes_per_param")),
                Range(m.KvBytesPerToken ?? 0, 0, 1e9, F("model.kv_bytes_per_token")));
        }

        var sources = (model is null ? 0 : 1) + (d.StepComputeUs is null ? 0 : 1) + (d.MeasuredOffStepUs is null ? 0 : 1);
        if (sources != 1)
        {
            throw new BridgeInputException(F("model"), "give exactly one of model, step_compute_us, measured_off_step_us");
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

        var crossings = new List<Crossing>();
        foreach (var (c, i) in (d.Crossings ?? []).Select((c, i) => (c, i)))
        {
            string G(string f) => F($"crossings[{i}].{f}");
            if (c is null)
            {
                throw new BridgeInputException(F($"crossings[{i}]"), "empty entry");
            }

            crossings.Add(new Crossing(
                NonEmpty(c.Name, G("name")),
                ParseDirection(c.Direction, G("direction")),
                (long)Range(c.Bytes ?? 0, 0, 1e12, G("bytes")),
                (long)Range(c.BytesPerSeq ?? 0, 0, 1e9, G("bytes_per_seq")),
                c.Level is null ? CrossingLevel.Dma : ParseEnum<CrossingLevel>(c.Level, G("level")),
                ParseEnum<CrossingPhase>(c.Phase, G("phase")),
                c.AsyncOnly ?? false,
                c.Blocking ?? false,
                c.SyncLevel is null ? null : ParseEnum<CrossingLevel>(c.SyncLevel, G("sync_level"))));
        }

        if (crossings.Count > MaxCrossings)
        {
            throw new BridgeInputException(F("crossings"), $"more than {MaxCrossings}");
        }

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
            Scheduling = d.Scheduling is null ? Scheduling.Sync : ParseEnum<Scheduling>(d.Scheduling, F("scheduling")),
            Crossings = crossings,
        };
    }

    private static Direction ParseDirection(string? s, string field) => s?.Trim().ToLowerInvariant() switch
    {
        "h2d" => Direction.HostToDevice,
        "d2h" => Direction.DeviceToHost,
        null => throw new BridgeInputException(field, "missing (h2d or d2h)"),
        _ => throw new BridgeInputException(field, $"'{s}' is not h2d or d2h"),
    };

    private static T ParseEnum<T>(string? s, string field)
        where T : struct, Enum
    {
        if (string.IsNullOrWhiteSpace(s))
        {
            throw new BridgeInputException(field, $"missing ({string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))})");
        }

        if (!Enum.TryParse<T>(s.Trim(), ignoreCase: true, out var v) || !Enum.IsDefined(v) || char.IsDigit(s.Trim()[0]))
        {
            throw new BridgeInputException(field, $"'{s}' is not one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}");
        }

        return v;
    }

    private static string NonEmpty(string? s, string field) =>
        string.IsNullOrWhiteSpace(s) ? throw new BridgeInputException(field, "missing") : s.Trim();

    private static double Range(double v, double min, double max, string field) =>
        !double.IsFinite(v) || v < min || v > max ? throw new BridgeInputException(field, $"{v} is outside [{min}, {max}]") : v;

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

    [SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
    private sealed class WorkloadDto
    {
        public string? Id { get; set; }

        public string? Kind { get; set; }

        public string? Description { get; set; }

        public string? Source { get; set; }

        public ModelDto? Model { get; set; }

        public double? StepComputeUs { get; set; }

        public double? MeasuredOffStepUs { get; set; }

        public double? PrefillTokens { get; set; }

        public double? ContextTokens { get; set; }

        public List<int>? Concurrency { get; set; }

        public double? Steps { get; set; }

        public double? CpuUsPerStep { get; set; }

        public double? LaunchesPerStep { get; set; }

        public string? Scheduling { get; set; }

        public double? Jitter { get; set; }

        public string? Numa { get; set; }

        public List<CrossingDto?>? Crossings { get; set; }

        public TransferDto? Transfer { get; set; }
    }

    [SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
    private sealed class ModelDto
    {
        public string? Name { get; set; }

        public double? Parameters { get; set; }

        public double? BytesPerParam { get; set; }

        public double? KvBytesPerToken { get; set; }
    }

    [SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
    private sealed class CrossingDto
    {
        public string? Name { get; set; }

        public string? Direction { get; set; }

        public double? Bytes { get; set; }

        public double? BytesPerSeq { get; set; }

        public string? Level { get; set; }

        public string? Phase { get; set; }

        public bool? AsyncOnly { get; set; }

        public bool? Blocking { get; set; }

        public string? SyncLevel { get; set; }
    }

    [SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
    private sealed class TransferDto
    {
        public string? Direction { get; set; }

        public double? TotalBytes { get; set; }

        public double? ChunkBytes { get; set; }

        public string? Level { get; set; }

        public bool? Blocking { get; set; }

        public bool? HostGather { get; set; }

        public bool? AllocInit { get; set; }

        public double? MeasuredOffS { get; set; }
    }
}
