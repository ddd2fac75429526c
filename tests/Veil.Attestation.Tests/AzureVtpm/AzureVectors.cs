using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Attestation.AzureVtpm;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tests.AzureVtpm;

/// <summary>
/// Trustee's Azure vTPM vectors (testdata/vectors/trustee/deps/verifier/test_data/az-*-vtpm) with the report data its
/// tests pass and the time pinned (every VCEK and PCK certificate is valid then).
/// </summary>
internal static class AzureVectors
{
    public static readonly DateTimeOffset At = DateTimeOffset.Parse("2026-03-01T00:00:00Z");

    /// <summary>ASCII "challenge": the literal report data of Trustee's v0/v1 tests (and the nonce in those quotes).</summary>
    public static readonly byte[] Challenge = "challenge"u8.ToArray();

    /// <summary>The 48-byte report data of evidence-v2.json (test_evaluate_v2), also its HCL user-data prefix.</summary>
    public static readonly byte[] V2ReportData = Convert.FromHexString("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef");

    /// <summary>The 48-byte report data of evidence-genoa.json (test_evaluate_genoa).</summary>
    public static readonly byte[] GenoaReportData = Convert.FromHexString("0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f");

    public static byte[] SnpFile(string file) => Vectors.Bytes("trustee", "deps", "verifier", "test_data", "az-snp-vtpm", file);

    public static byte[] TdxFile(string file) => Vectors.Bytes("trustee", "deps", "verifier", "test_data", "az-tdx-vtpm", file);

    public static AzSnpVtpmVerifier SnpVerifier(DateTimeOffset? at = null) => new(SnpCollateralSources.Evidence(), new FixedTimeProvider(at ?? At));

    /// <summary>No Intel collateral for the Azure TD quote's FMSPC is in the vectors (Trustee's own test is #[ignore]d for it).</summary>
    public static AzTdxVtpmVerifier TdxVerifier(bool requireCollateral) =>
        new(TdxCollateralSources.None, new FixedTimeProvider(At), new TdxVerifierOptions { RequireCollateral = requireCollateral });

    /// <summary>A v1 document from parts: how the separate hcl-report.bin / tpm-quote-v1.json / vcek.pem vectors are verified together.</summary>
    public static byte[] SnpV1(byte[] hclReport, JsonObject tpmQuote, byte[] vcekDer, int version = 1) => Encode(new JsonObject
    {
        ["version"] = version,
        ["tpm_quote"] = tpmQuote,
        ["hcl_report"] = Base64Url(hclReport),
        ["vcek"] = Base64Url(vcekDer),
    });

    public static byte[] TdxV1(byte[] hclReport, JsonObject tpmQuote, byte[] tdQuote) => Encode(new JsonObject
    {
        ["version"] = 1,
        ["tpm_quote"] = tpmQuote,
        ["hcl_report"] = Base64Url(hclReport),
        ["td_quote"] = Base64Url(tdQuote),
    });

    public static JsonObject Quote(byte[] signature, byte[] message, IEnumerable<byte[]> pcrs) => new()
    {
        ["signature"] = Convert.ToHexStringLower(signature),
        ["message"] = Convert.ToHexStringLower(message),
        ["pcrs"] = new JsonArray([.. pcrs.Select(p => (JsonNode)Convert.ToHexStringLower(p))]),
    };

    /// <summary>(signature, message, pcrs) of a v1-style tpm_quote object.</summary>
    public static (byte[] Signature, byte[] Message, List<byte[]> Pcrs) QuoteParts(JsonNode quote) => (
        Convert.FromHexString(quote["signature"]!.GetValue<string>()),
        Convert.FromHexString(quote["message"]!.GetValue<string>()),
        [.. quote["pcrs"]!.AsArray().Select(p => Convert.FromHexString(p!.GetValue<string>()))]);

    public static JsonObject Json(byte[] bytes) => JsonNode.Parse(bytes)!.AsObject();

    public static byte[] Encode(JsonNode node) => JsonSerializer.SerializeToUtf8Bytes(node);

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
    }

    /// <summary>The first certificate of vcek.pem (the Milan VCEK of hcl-report.bin) as DER.</summary>
    public static byte[] MilanVcekDer() => Certificates.Load(SnpFile("vcek.pem"), "vcek.pem")[0].RawData;

    /// <summary>hcl-report.bin + tpm-quote-v1.json + vcek.pem: the parts Trustee's unit tests check one by one, as one v1 document.</summary>
    public static byte[] ComposedSnp(Func<byte[], byte[]>? editReport = null, Func<JsonObject, JsonObject>? editQuote = null)
    {
        var report = SnpFile("hcl-report.bin");
        var quote = Json(SnpFile("tpm-quote-v1.json"));
        return SnpV1(editReport?.Invoke(report) ?? report, editQuote?.Invoke(quote) ?? quote, MilanVcekDer());
    }

    public static byte[] ComposedTdx(Func<byte[], byte[]>? editReport = null, Func<JsonObject, JsonObject>? editQuote = null)
    {
        var report = TdxFile("hcl-report.bin");
        var quote = Json(TdxFile("tpm-quote-v1.json"));
        return TdxV1(editReport?.Invoke(report) ?? report, editQuote?.Invoke(quote) ?? quote, TdxFile("td-quote.bin"));
    }

    public static string Checks(VerificationResult r) => string.Join(", ", r.Failures.Select(f => f.Check));
}
