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

    private static readonly HashSet<string> KnownSet = new(StringComparer.Ordinal)
    {
        "az-snp-vtpm", "az-tdx-vtpm", "nvidia", "sgx", "snp", "tdx", "cca", "csv", "se", "hygondcu", "tpm", "sample", "sampledevice", "nvidiadpu",
    };

    public static IReadOnlySet<string> Known => KnownSet;

    /// <summary>
    /// The broker's own instance of a known name, or null: what a session, a metric label or an audit actor keeps,
    /// so that no caller-sent string (of any length) outlives its request.
    /// </summary>
    public static string? Canonical(string? tee) => tee is not null && KnownSet.TryGetValue(tee, out var known) ? known : null;
}
