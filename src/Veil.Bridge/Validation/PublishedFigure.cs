using System.Diagnostics.CodeAnalysis;

namespace Veil.Bridge.Validation;

/// <summary>How a figure is computed from simulations.</summary>
internal enum FigureMeasure
{
    /// <summary>One copy: time with CC off ÷ time with CC on (a bandwidth ratio).</summary>
    CopyRatio,

    /// <summary>One copy: time with CC on ÷ time with CC off.</summary>
    CopySlowdown,

    /// <summary>Serving throughput with CC on ÷ with CC off, aggregated over platforms × concurrency.</summary>
    ThroughputRatio,

    /// <summary>Wall time with CC on ÷ with CC off.</summary>
    LatencyRatio,

    /// <summary>Share of the CC gap (time per token) a mitigation recovers, aggregated over platforms × concurrency.</summary>
    GapRecovered,

    /// <summary>Mean time to first token of a request-mix run with CC on ÷ with CC off.</summary>
    TtftRatio,

    /// <summary>One copy with CC on: bytes ÷ time, in GB/s.</summary>
    CopyRate,
}

/// <summary>Min, max or mean over the runs a figure covers.</summary>
internal enum Aggregate
{
    Mean,
    Min,
    Max,
}

/// <summary>
/// A published number the model is held against. <see cref="Calibration"/> figures are also profile inputs
/// (their check is a consistency check of the engine); the others are predictions.
/// </summary>
internal sealed record PublishedFigure
{
    public required string Id { get; init; }

    public required string Claim { get; init; }

    public required string Source { get; init; }

    public required bool Calibration { get; init; }

    public required double Published { get; init; }

    /// <summary>Allowed relative error.</summary>
    public required double Tolerance { get; init; }

    public required FigureMeasure Measure { get; init; }

    public required IReadOnlyList<string> Platforms { get; init; }

    public string? Workload { get; init; }

    public string? Mitigation { get; init; }

    public Aggregate Aggregate { get; init; } = Aggregate.Mean;

    public string Direction { get; init; } = "h2d";

    public long Bytes { get; init; }

    public string Level { get; init; } = "dma";

    public string Note { get; init; } = string.Empty;

    /// <summary>Restricts the runs to one concurrency level of the workload.</summary>
    public int? Concurrency { get; init; }

    /// <summary>Why a prediction misses its tolerance: kept and reported, not dropped.</summary>
    public string? KnownMiss { get; init; }
}

/// <summary>The figures of Data/figures.yaml.</summary>
internal static class FigureCatalog
{
    private static readonly Lazy<IReadOnlyList<PublishedFigure>> BuiltIn = new(() => Parse(YamlData.Resource("figures.yaml"), "figures.yaml"));

    public static IReadOnlyList<PublishedFigure> All => BuiltIn.Value;

    internal static List<PublishedFigure> Parse(string yaml, string origin)
    {
        var list = YamlData.Parse<List<FigureDto?>>(yaml, origin);
        var result = new List<PublishedFigure>();
        foreach (var (d, i) in list.Select((d, i) => (d, i)))
        {
            string F(string f) => $"{origin}[{i}].{f}";
            if (d is null)
            {
                throw new BridgeInputException($"{origin}[{i}]", "empty entry");
            }

            var platforms = d.Platforms ?? (d.Platform is null ? null : [d.Platform]);
            if (platforms is null || platforms.Count == 0)
            {
                throw new BridgeInputException(F("platform"), "missing");
            }

            if (!Enum.TryParse<FigureMeasure>(d.Measure?.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var measure))
            {
                throw new BridgeInputException(F("measure"), $"'{d.Measure}' is not a known measure");
            }

            var aggregate = Aggregate.Mean;
            if (d.Aggregate is not null && !Enum.TryParse(d.Aggregate, ignoreCase: true, out aggregate))
            {
                throw new BridgeInputException(F("aggregate"), $"'{d.Aggregate}' is not mean, min or max");
            }

            result.Add(new PublishedFigure
            {
                Id = d.Id ?? throw new BridgeInputException(F("id"), "missing"),
                Claim = d.Claim ?? throw new BridgeInputException(F("claim"), "missing"),
                Source = d.Source ?? throw new BridgeInputException(F("source"), "missing"),
                Calibration = (d.Role ?? throw new BridgeInputException(F("role"), "missing")) switch
                {
                    "calibration" => true,
                    "prediction" => false,
                    _ => throw new BridgeInputException(F("role"), $"'{d.Role}' is not calibration or prediction"),
                },
                Published = d.Published is double p && p > 0 ? p : throw new BridgeInputException(F("published"), "missing or not positive"),
                Tolerance = d.Tolerance is double t && t is > 0 and < 1 ? t : throw new BridgeInputException(F("tolerance"), "missing or not in (0, 1)"),
                Measure = measure,
                Platforms = platforms,
                Workload = d.Workload,
                Mitigation = d.Mitigation,
                Aggregate = aggregate,
                Direction = d.Direction ?? "h2d",
                Bytes = (long)(d.Bytes ?? 0),
                Level = d.Level ?? "dma",
                Note = d.Note?.Trim() ?? string.Empty,
                Concurrency = d.Concurrency is double c ? (c is >= 1 and <= 65_536 && c == Math.Floor(c) ? (int)c : throw new BridgeInputException(F("concurrency"), $"{c} is not a concurrency level")) : null,
                KnownMiss = string.IsNullOrWhiteSpace(d.KnownMiss) ? null : d.KnownMiss.Trim(),
            });
        }

        return result;
    }

    [SuppressMessage("Performance", "CA1812", Justification = "Instantiated by YamlDotNet.")]
    private sealed class FigureDto
    {
        public string? Id { get; set; }

        public string? Claim { get; set; }

        public string? Source { get; set; }

        public string? Role { get; set; }

        public double? Published { get; set; }

        public double? Tolerance { get; set; }

        public string? Measure { get; set; }

        public string? Platform { get; set; }

        public List<string>? Platforms { get; set; }

        public string? Workload { get; set; }

        public string? Mitigation { get; set; }

        public string? Aggregate { get; set; }

        public string? Direction { get; set; }

        public double? Bytes { get; set; }

        public string? Level { get; set; }

        public string? Note { get; set; }

        public double? Concurrency { get; set; }

        public string? KnownMiss { get; set; }
    }
}
