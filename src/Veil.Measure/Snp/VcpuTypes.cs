namespace Veil.Measure.Snp;

/// <summary>
/// CPUID signatures of QEMU's EPYC CPU models (target/i386/cpu.c builtin_x86_defs). The signature lands
/// in RDX of each initial VMSA, so the vCPU type is part of the launch digest.
/// </summary>
public static class VcpuTypes
{
    private static readonly Dictionary<string, uint> Signatures = new(StringComparer.OrdinalIgnoreCase)
    {
        ["EPYC"] = Signature(23, 1, 2),
        ["EPYC-v1"] = Signature(23, 1, 2),
        ["EPYC-v2"] = Signature(23, 1, 2),
        ["EPYC-IBPB"] = Signature(23, 1, 2),
        ["EPYC-v3"] = Signature(23, 1, 2),
        ["EPYC-v4"] = Signature(23, 1, 2),
        ["EPYC-Rome"] = Signature(23, 49, 0),
        ["EPYC-Rome-v1"] = Signature(23, 49, 0),
        ["EPYC-Rome-v2"] = Signature(23, 49, 0),
        ["EPYC-Rome-v3"] = Signature(23, 49, 0),
        ["EPYC-Milan"] = Signature(25, 1, 1),
        ["EPYC-Milan-v1"] = Signature(25, 1, 1),
        ["EPYC-Milan-v2"] = Signature(25, 1, 1),
        ["EPYC-Genoa"] = Signature(25, 17, 0),
        ["EPYC-Genoa-v1"] = Signature(25, 17, 0),
        ["EPYC-Turin"] = Signature(26, 0, 0),
    };

    public static IReadOnlyCollection<string> Names => Signatures.Keys;

    /// <summary>The signature of a named model; an unknown name is a <see cref="MeasureException"/>.</summary>
    public static uint Lookup(string name) =>
        Signatures.TryGetValue(name, out var sig)
            ? sig
            : throw new MeasureException("--vcpu-type", $"unknown vCPU type '{name}' (known: {string.Join(", ", Signatures.Keys)})");

    /// <summary>CPUID Fn0000_0001_EAX from family/model/stepping (AMD CPUID specification #25481).</summary>
    public static uint Signature(int family, int model, int stepping)
    {
        var familyLow = family > 0xf ? 0xf : family;
        var familyHigh = family > 0xf ? (family - 0xf) & 0xff : 0;
        return (uint)((familyHigh << 20) | (((model >> 4) & 0xf) << 16) | (familyLow << 8) | ((model & 0xf) << 4) | (stepping & 0xf));
    }
}
