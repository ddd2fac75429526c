using Veil.Abi.Snp;

namespace Veil.Attestation.Snp;

/// <summary>AMD EPYC generations with SEV-SNP, each with its own root key (ARK) and KDS path.</summary>
public enum SnpProduct
{
    Milan,
    Genoa,
    Turin,
}

/// <summary>Maps CPUID and certificate product names to a generation.</summary>
public static class SnpProducts
{
    public static TcbLayout Layout(this SnpProduct product) =>
        product == SnpProduct.Turin ? TcbLayout.Turin : TcbLayout.MilanGenoa;

    /// <summary>Name as used by AMD KDS URLs and certificate product names.</summary>
    public static string Name(this SnpProduct product) => product.ToString();

    /// <summary>
    /// Generation from the report's CPUID (v3+): family 0x19 models 0x00–0x0F Milan, 0x10–0x1F and 0xA0–0xAF
    /// Genoa; family 0x1A Turin (as microsoft/TEE-Attestation-Verification src/snp/model.rs). Null if unknown.
    /// </summary>
    public static SnpProduct? FromCpuId(CpuId cpu) => cpu.Family switch
    {
        0x19 when cpu.Model <= 0x0F => SnpProduct.Milan,
        0x19 when cpu.Model is >= 0x10 and <= 0x1F or >= 0xA0 and <= 0xAF => SnpProduct.Genoa,
        0x1A => SnpProduct.Turin,
        _ => null,
    };

    /// <summary>Generation from a VCEK/VLEK productName extension such as <c>Milan-B0</c> or <c>Genoa</c>.</summary>
    public static SnpProduct? FromProductName(string? productName)
    {
        if (string.IsNullOrEmpty(productName))
        {
            return null;
        }

        var dash = productName.IndexOf('-', StringComparison.Ordinal);
        var line = dash >= 0 ? productName[..dash] : productName;
        return line.Length > 0 && line.All(char.IsAsciiLetter) && Enum.TryParse<SnpProduct>(line, ignoreCase: false, out var p) ? p : null;
    }

    public static SnpProduct Parse(string name, string field) =>
        name.Length > 0 && name.All(char.IsAsciiLetter) && Enum.TryParse<SnpProduct>(name, ignoreCase: true, out var p)
            ? p
            : throw new EvidenceFormatException(field, $"unknown product '{name}' (Milan, Genoa or Turin)");
}
