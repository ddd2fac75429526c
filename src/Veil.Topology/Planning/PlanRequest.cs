using System.Globalization;
using Veil.Topology.Sysfs;

namespace Veil.Topology.Planning;

public enum PlacementMode
{
    /// <summary>Every device on its own guest root port: simple, but the guest sees no switches (no P2P inference).</summary>
    Flatten,

    /// <summary>One emulated switch per host switch, holding the same devices: GPUDirect P2P/RDMA can be inferred as on the host.</summary>
    Replicate,
}

public enum CvmKind
{
    None,
    Snp,
    Tdx,
}

public enum KataRuntime
{
    Go,
    Rs,
}

/// <summary>Which GPUs a plan is for: all of them, a count, or explicit BDFs.</summary>
public sealed record GpuSelection(bool All, int? Count, IReadOnlyList<PciAddress> Addresses)
{
    public static GpuSelection Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new TopologyInputException("--gpus", "required: 'all', a count, or BDFs separated by commas");
        }

        text = text.Trim();
        if (text == "all")
        {
            return new GpuSelection(true, null, []);
        }

        if (text.All(char.IsAsciiDigit))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                throw new TopologyInputException("--gpus", $"count '{text}' must be a whole number ≥ 1");
            }

            return new GpuSelection(false, n, []);
        }

        var list = new List<PciAddress>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!PciAddress.TryParse(part, out var a))
            {
                throw new TopologyInputException("--gpus", $"'{(part.Length > 20 ? part[..20] + "…" : part)}' is not 'all', a count, or a PCI address like 0000:1b:00.0");
            }

            if (!list.Contains(a))
            {
                list.Add(a);
            }
        }

        return list.Count == 0
            ? throw new TopologyInputException("--gpus", "no GPU given")
            : new GpuSelection(false, null, list);
    }

    public override string ToString() => All ? "all" : Count is { } n ? n.ToString(CultureInfo.InvariantCulture) : string.Join(',', Addresses);
}

/// <summary>Everything <c>veil topology plan</c> is asked.</summary>
public sealed record PlanRequest(
    GpuSelection Gpus,
    PlacementMode Mode,
    bool WithNics = false,
    bool WithNvSwitch = false,
    CvmKind Cvm = CvmKind.None,
    KataRuntime Runtime = KataRuntime.Go);
