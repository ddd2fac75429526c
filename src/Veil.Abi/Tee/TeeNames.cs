namespace Veil.Abi.Tee;

/// <summary>
/// TEE names as the KBS protocol spells them (kbs-types <c>Tee</c>, serde names): the one definition every project
/// uses (verifiers, policies, the broker's dispatch and metric labels, the guest's evidence writers), so that a name
/// cannot be spelt two ways. It lives here, in the layouts project every other one references, because it is wire
/// vocabulary like the byte layouts: Attestation, Policy and Guest cannot all see Veil.Protocol.
/// </summary>
public static class TeeNames
{
    public const string Sample = "sample";
    public const string Snp = "snp";
    public const string Tdx = "tdx";
    public const string Nvidia = "nvidia";
    public const string AzSnpVtpm = "az-snp-vtpm";
    public const string AzTdxVtpm = "az-tdx-vtpm";

    private static readonly HashSet<string> KnownSet = new(StringComparer.Ordinal)
    {
        AzSnpVtpm, AzTdxVtpm, Nvidia, "sgx", Snp, Tdx, "cca", "csv", "se", "hygondcu", "tpm", Sample, "sampledevice", "nvidiadpu",
    };

    private static readonly HashSet<string> VerifiedSet = new(StringComparer.Ordinal) { Sample, Snp, Tdx, Nvidia, AzSnpVtpm, AzTdxVtpm };

    /// <summary>Every name kbs-types defines, whether or not Veil verifies it.</summary>
    public static IReadOnlySet<string> Known => KnownSet;

    /// <summary>The TEEs Veil has a verifier (and claims) for.</summary>
    public static IReadOnlySet<string> Verified => VerifiedSet;

    /// <summary>Device TEEs: evidence that only comes alongside a CPU TEE's (KBS additional evidence).</summary>
    public static bool IsDevice(string tee) => tee is Nvidia or "sampledevice" or "nvidiadpu" or "hygondcu";

    /// <summary>
    /// The library's own instance of a known name, or null: what a session, a metric label or an audit actor keeps,
    /// so that no caller-sent string (of any length) outlives its request.
    /// </summary>
    public static string? Canonical(string? tee) => tee is not null && KnownSet.TryGetValue(tee, out var known) ? known : null;
}
