using Veil.Bridge.Engine;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Mitigations;

/// <summary>
/// A mitigation is a transformation of a workload. <see cref="CcGated"/> ones are what engines switch on
/// only when they detect CC (they would cost time without it), so the CC-off run keeps the default.
/// </summary>
internal sealed class Mitigation
{
    private readonly Func<Workload, Workload?> apply;

    private Mitigation(string id, string title, string basis, bool ccGated, Func<Workload, Workload?> apply)
    {
        Id = id;
        Title = title;
        Basis = basis;
        CcGated = ccGated;
        this.apply = apply;
    }

    /// <summary>Chunk size the large-chunks mitigation moves to (notes §4: ≥1–8 MB reaches >90 % of the plateau).</summary>
    public const long LargeChunkBytes = 8L << 20;

    public static IReadOnlyList<Mitigation> All { get; } =
    [
        new("sync-scheduling", "Synchronous scheduling instead of async overlap", "Serialized Bridge: the scheduling flag (notes §1.1, §4)", ccGated: true,
            w => w.Kind == WorkloadKind.Serving && w.Scheduling == Scheduling.Async && !w.DrainWorker ? w with { Scheduling = Scheduling.Sync } : null),
        new("drain-worker", "Worker thread drains D2H readbacks on its own stream; inputs copied on a side stream", "Serialized Bridge worker-thread drain; SGLang AsyncD2HCopyWorker, TRT-LLM AsyncWorkerMixin, vLLM #52226 (notes §1.3, §4)", ccGated: false,
            w => w.Kind == WorkloadKind.Serving && !w.DrainWorker && w.Crossings.Any(c => c.Phase == CrossingPhase.Output) ? w with { DrainWorker = true } : null),
        new("coalesce", "Coalesce each step's small crossings into one persistent buffer per direction", "Serialized Bridge blog: batch every crossing (notes §1.2, §4)", ccGated: false,
            w => w.Kind == WorkloadKind.Serving && !w.Coalesced && (w.Crossings.Count > 1 || w.Crossings.Any(c => c.Level == CrossingLevel.Api)) ? w with { Coalesced = true } : null),
        // Gated: with CC off, small chunks pipeline better (a shorter tail after the last gather), so engines
        // should pick the large chunk only under CC; the CC-off property test found this.
        new("large-chunks", "Move bulk transfers in 8 MiB chunks", "notes §4: prefer ≥1–8 MB transfers", ccGated: true,
            w => w.Transfer is { } t && t.ChunkBytes < LargeChunkBytes && t.TotalBytes > t.ChunkBytes
                ? w with { Transfer = t with { ChunkBytes = Math.Min(LargeChunkBytes, t.TotalBytes) } }
                : null),
        new("numa-local", "Pin copy threads and host buffers to the GPU's NUMA node", "ISPASS'26 remote-node data (notes §2.3, §3.8, §4)", ccGated: false,
            w => w.Numa != NumaPlacement.Local ? w with { Numa = NumaPlacement.Local } : null),
    ];

    public string Id { get; }

    public string Title { get; }

    /// <summary>Where the mitigation comes from.</summary>
    public string Basis { get; }

    public bool CcGated { get; }

    public static Mitigation Resolve(string id) =>
        All.FirstOrDefault(m => m.Id == id)
        ?? throw new BridgeInputException("--mitigation", $"unknown mitigation '{id}' (known: {string.Join(", ", All.Select(m => m.Id))})");

    public bool AppliesTo(Workload w) => apply(w) is not null;

    /// <summary>The transformed workload; unchanged when the mitigation does not apply to it.</summary>
    public Workload Apply(Workload w) => apply(w) is { } t ? t with { Mitigations = [.. w.Mitigations, Id] } : w;
}
