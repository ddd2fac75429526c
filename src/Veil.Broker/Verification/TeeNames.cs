namespace Veil.Broker.Verification;

/// <summary>TEE names of the KBS protocol (kbs-types <c>Tee</c>, serde names).</summary>
internal static class TeeNames
{
    public const string Sample = "sample";
    public const string Snp = "snp";
    public const string Tdx = "tdx";
    public const string Nvidia = "nvidia";
    public const string AzSnpVtpm = "az-snp-vtpm";
    public const string AzTdxVtpm = "az-tdx-vtpm";

    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
    {
        "az-snp-vtpm", "az-tdx-vtpm", "nvidia", "sgx", "snp", "tdx", "cca", "csv", "se", "hygondcu", "tpm", "sample", "sampledevice", "nvidiadpu",
    };
}
