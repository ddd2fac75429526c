using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.AzureVtpm;

/// <summary>The vTPM quote as the evidence carries it: the AK's signature, the TPMS_ATTEST bytes and the PCR values.</summary>
public sealed record AzureTpmQuote(byte[] Signature, byte[] Message, IReadOnlyList<byte[]> Pcrs);

/// <summary>
/// Azure SEV-SNP vTPM evidence as CoCo's attestation-agent sends it (tee <c>az-snp-vtpm</c>), in its three layouts:
/// <list type="bullet">
/// <item>v0: <c>{"quote":{"signature":[…],"message":[…],"pcrs":[[…]…]},"report":[…],"vcek":"PEM"}</c> (byte arrays as numbers);</item>
/// <item>v1: <c>{"version":1,"tpm_quote":{"signature":hex,"message":hex,"pcrs":[hex…]},"hcl_report":base64url,"vcek":base64url DER}</c>;</item>
/// <item>v2: as v1 with <c>"version":2</c>, and the HCL variable data's <c>user-data</c> starts with the report data.</item>
/// </list>
/// </summary>
public sealed record AzSnpVtpmEvidence(int Version, AzureTpmQuote Quote, byte[] HclReport, X509Certificate2? Vcek)
{
    /// <exception cref="EvidenceFormatException">Not one of the layouts (field named).</exception>
    public static AzSnpVtpmEvidence Parse(ReadOnlyMemory<byte> json)
    {
        const string p = "az-snp-vtpm evidence";
        using var doc = JsonFields.Parse(json, p);
        var root = JsonFields.Object(doc.RootElement, p);
        var version = AzureEvidenceJson.Version(root, p, max: 2);
        if (version == 0)
        {
            var pem = JsonFields.String(root, "vcek", p);
            return new AzSnpVtpmEvidence(0, AzureEvidenceJson.QuoteV0(JsonFields.Get(root, "quote", p), $"{p}.quote"),
                AzureEvidenceJson.Numbers(root, "report", p), Certificates.LoadOne(System.Text.Encoding.ASCII.GetBytes(pem), $"{p}.vcek"));
        }

        // The VCEK is optional here (Veil can find it in its collateral), though the attestation-agent always sends it.
        var vcek = JsonFields.Optional(root, "vcek") is { } v
            ? Certificates.LoadOne(AzureEvidenceJson.Base64Url(v, $"{p}.vcek"), $"{p}.vcek")
            : null;
        return new AzSnpVtpmEvidence(version, AzureEvidenceJson.QuoteV1(JsonFields.Get(root, "tpm_quote", p), $"{p}.tpm_quote"),
            AzureEvidenceJson.Base64Url(JsonFields.Get(root, "hcl_report", p), $"{p}.hcl_report"), vcek);
    }
}

/// <summary>
/// Azure TDX vTPM evidence (tee <c>az-tdx-vtpm</c>): v0 <c>{"tpm_quote":{…byte arrays},"hcl_report":[…],"td_quote":[…]}</c>,
/// v1 <c>{"version":1,"tpm_quote":{hex…},"hcl_report":base64url,"td_quote":base64url}</c>. The TD quote is the
/// DCAP quote Azure's IMDS made from the TD report inside the HCL report.
/// </summary>
public sealed record AzTdxVtpmEvidence(int Version, AzureTpmQuote Quote, byte[] HclReport, byte[] TdQuote)
{
    /// <exception cref="EvidenceFormatException">Not one of the layouts (field named).</exception>
    public static AzTdxVtpmEvidence Parse(ReadOnlyMemory<byte> json)
    {
        const string p = "az-tdx-vtpm evidence";
        using var doc = JsonFields.Parse(json, p);
        var root = JsonFields.Object(doc.RootElement, p);
        var version = AzureEvidenceJson.Version(root, p, max: 1);
        return version == 0
            ? new AzTdxVtpmEvidence(0, AzureEvidenceJson.QuoteV0(JsonFields.Get(root, "tpm_quote", p), $"{p}.tpm_quote"),
                AzureEvidenceJson.Numbers(root, "hcl_report", p), AzureEvidenceJson.Numbers(root, "td_quote", p))
            : new AzTdxVtpmEvidence(version, AzureEvidenceJson.QuoteV1(JsonFields.Get(root, "tpm_quote", p), $"{p}.tpm_quote"),
                AzureEvidenceJson.Base64Url(JsonFields.Get(root, "hcl_report", p), $"{p}.hcl_report"),
                AzureEvidenceJson.Base64Url(JsonFields.Get(root, "td_quote", p), $"{p}.td_quote"));
    }
}

/// <summary>Field readers shared by both Azure layouts; every error names the field.</summary>
internal static class AzureEvidenceJson
{
    /// <summary>PCR values of one SHA-256 bank: 24 on Azure; a TPM may have up to 32 selected here.</summary>
    private const int MaxPcrs = 32;

    public static int Version(JsonElement root, string p, int max)
    {
        if (JsonFields.Optional(root, "version") is null)
        {
            return 0;
        }

        var v = JsonFields.Integer(root, "version", p, long.MaxValue);
        return v >= 1 && v <= max ? (int)v : throw new EvidenceFormatException($"{p}.version", $"unsupported version {v} (supported: 0 (no field) to {max})");
    }

    public static AzureTpmQuote QuoteV0(JsonElement quote, string p) =>
        new(Numbers(quote, "signature", p), Numbers(quote, "message", p), Pcrs(quote, p, (e, f) => ByteArray(e, f)));

    public static AzureTpmQuote QuoteV1(JsonElement quote, string p) =>
        new(Hex.Parse(JsonFields.String(quote, "signature", p), $"{p}.signature"), Hex.Parse(JsonFields.String(quote, "message", p), $"{p}.message"),
            Pcrs(quote, p, (e, f) => e.ValueKind == JsonValueKind.String ? Hex.Parse(JsonFields.Text(e, f), f) : throw new EvidenceFormatException(f, "expected hex text")));

    public static byte[] Numbers(JsonElement obj, string name, string p) => ByteArray(JsonFields.Get(obj, name, p), $"{p}.{name}");

    public static byte[] Base64Url(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException(field, "expected base64url text");
        }

        var s = JsonFields.Text(value, field).Replace('-', '+').Replace('_', '/');
        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        try
        {
            return Convert.FromBase64String(s);
        }
        catch (FormatException)
        {
            throw new EvidenceFormatException(field, "not base64url");
        }
    }

    private static List<byte[]> Pcrs(JsonElement quote, string p, Func<JsonElement, string, byte[]> read)
    {
        var items = JsonFields.Array(quote, "pcrs", p);
        if (items.Count > MaxPcrs)
        {
            throw new EvidenceFormatException($"{p}.pcrs", $"{items.Count} values, at most {MaxPcrs}");
        }

        var pcrs = new List<byte[]>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var f = $"{p}.pcrs[{i}]";
            var value = read(items[i], f);
            pcrs.Add(value.Length == 32 ? value : throw new EvidenceFormatException(f, $"{value.Length} bytes, a SHA-256 PCR has 32"));
        }

        return pcrs;
    }

    private static byte[] ByteArray(JsonElement e, string field)
    {
        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new EvidenceFormatException(field, "expected an array of bytes");
        }

        var bytes = new byte[e.GetArrayLength()];
        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            bytes[i] = item.ValueKind == JsonValueKind.Number && item.TryGetByte(out var b) ? b : throw new EvidenceFormatException($"{field}[{i}]", "not a byte (0..255)");
            i++;
        }

        return bytes;
    }
}
