using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Abi.AzureVtpm;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>
/// Evidence of an Azure confidential VM through its vTPM, in the layouts CoCo's attestation-agent sends (az-cvm-vtpm):
/// for <c>az-snp-vtpm</c> v2 — the report data is written to NV index 0x01400002 so that the paravisor refreshes
/// the HCL report (NV index 0x01400001) with it as user-data —, for <c>az-tdx-vtpm</c> v1 with the TD quote from IMDS.
/// The quote is made with the AK at persistent handle 0x81000003 over SHA-256 PCRs 0–23, qualified by the report data.
/// Before anything leaves the guest it checks, failing closed: the HCL report names this TPM's AK, carries our
/// user-data (v2), the quote carries our report data, and the PCR values read match the quoted digest.
/// </summary>
public sealed class AzureVtpmAttester(ITpmTransport transport, IAzureImds? imds)
{
    public const uint HclReportIndex = HclReportLayout.ReportNvIndex;
    public const uint UserDataIndex = HclReportLayout.UserDataNvIndex;
    public const uint AkHandle = HclReportLayout.AttestationKeyHandle;
    public const int InitDataPcr = 8;

    private const int VariableDataOffset = HclReportLayout.VariableDataOffset;
    private static readonly int[] AllPcrs = [.. Enumerable.Range(0, 24)];

    private readonly TpmCommands tpm = new(transport);

    /// <summary>Extends the (SHA-256) init-data digest into PCR 8, as the attestation-agent binds init-data on Azure.</summary>
    public void BindInitData(ReadOnlySpan<byte> sha256Digest)
    {
        if (sha256Digest.Length != 32)
        {
            throw new AttesterException("az-vtpm", $"init-data digest of {sha256Digest.Length} bytes; PCR 8 of the SHA-256 bank takes a SHA-256 digest");
        }

        tpm.PcrExtend(InitDataPcr, sha256Digest);
    }

    /// <param name="tee"><c>az-snp-vtpm</c> or <c>az-tdx-vtpm</c>.</param>
    /// <param name="reportData">The KBS binding (48 bytes), at most 64.</param>
    public JsonElement Evidence(string tee, ReadOnlySpan<byte> reportData)
    {
        if (reportData.Length > 64)
        {
            throw new AttesterException("az-vtpm", $"report data of {reportData.Length} bytes; the quote's qualifying data holds at most 64");
        }

        var snp = tee switch
        {
            TeeNames.AzSnpVtpm => true,
            TeeNames.AzTdxVtpm => false,
            _ => throw new AttesterException("az-vtpm", $"tee '{tee}' is not az-snp-vtpm or az-tdx-vtpm"),
        };
        if (snp)
        {
            var userData = new byte[64];
            reportData.CopyTo(userData);
            if (tpm.NvSize(UserDataIndex) is null)
            {
                tpm.NvDefine(UserDataIndex, 64);
            }

            tpm.NvWrite(UserDataIndex, userData);
        }

        var hcl = tpm.NvReadAll(HclReportIndex);
        var variableData = VariableData(hcl, snp ? 2u : 4u);
        if (!tpm.ReadPublic(AkHandle).Matches(AkJwk(variableData)))
        {
            throw new AttesterException("az-vtpm", $"the HCL report's HCLAkPub is not the key at 0x{AkHandle:x8}: refusing a quote nobody could verify");
        }

        if (snp && !string.Equals(variableData["user-data"]?.GetValue<string>(), Convert.ToHexString(Padded(reportData)), StringComparison.OrdinalIgnoreCase))
        {
            throw new AttesterException("az-vtpm", "hcl_report.user-data: the paravisor did not refresh the HCL report with our report data");
        }

        var (message, signature, pcrs) = QuoteWithPcrs(reportData);
        var quote = new JsonObject
        {
            ["signature"] = Convert.ToHexStringLower(signature),
            ["message"] = Convert.ToHexStringLower(message),
            ["pcrs"] = new JsonArray([.. pcrs.Select(p => (JsonNode)Convert.ToHexStringLower(p))]),
        };
        var evidence = new JsonObject { ["version"] = snp ? 2 : 1, ["tpm_quote"] = quote, ["hcl_report"] = Base64Url(hcl) };
        if (snp)
        {
            if (imds is not null)
            {
                evidence["vcek"] = Base64Url(imds.Vcek());
            }
        }
        else
        {
            var source = imds ?? throw new AttesterException("az-vtpm", "az-tdx-vtpm needs Azure IMDS for the TD quote");
            evidence["td_quote"] = Base64Url(source.TdQuote(hcl.AsSpan(32, 1024)));
        }

        return JsonSerializer.SerializeToElement(evidence);
    }

    /// <summary>The quote, then the PCRs; once more if a PCR was extended in between (the digest must match).</summary>
    private (byte[] Message, byte[] Signature, List<byte[]> Pcrs) QuoteWithPcrs(ReadOnlySpan<byte> reportData)
    {
        for (var attempt = 0; ; attempt++)
        {
            var (attest, tpmtSignature) = tpm.Quote(AkHandle, reportData, AllPcrs);
            var (extraData, digest) = QuotedFields(attest);
            if (!extraData.SequenceEqual(reportData.ToArray()))
            {
                throw new AttesterException("az-vtpm", "tpm_quote.extra_data: differs from the report data requested");
            }

            var pcrs = tpm.PcrRead(AllPcrs);
            if (SHA256.HashData(pcrs.SelectMany(p => p).ToArray()).AsSpan().SequenceEqual(digest))
            {
                return (attest, Signature(tpmtSignature), pcrs);
            }

            if (attempt == 1)
            {
                throw new AttesterException("az-vtpm", "PCRs changed between the quote and reading them, twice");
            }
        }
    }

    /// <summary>
    /// RSASSA signatures go bare, as az-cvm-vtpm sends them (what Trustee expects); others as the marshalled
    /// TPMT_SIGNATURE, which Veil's verifier reads.
    /// </summary>
    private static byte[] Signature(byte[] tpmt)
    {
        if (tpmt.Length >= 6 && BinaryPrimitives.ReadUInt16BigEndian(tpmt) == TpmPublicKey.AlgRsassa)
        {
            var size = BinaryPrimitives.ReadUInt16BigEndian(tpmt.AsSpan(4));
            return size == tpmt.Length - 6 ? tpmt[6..] : throw new AttesterException("az-vtpm", "TPMT_SIGNATURE: RSA signature length does not match");
        }

        return tpmt;
    }

    /// <summary>TPMS_ATTEST's extraData and pcrDigest (magic, type, qualifiedSigner, extraData, clockInfo, firmwareVersion, TPMS_QUOTE_INFO).</summary>
    private static (byte[] ExtraData, byte[] PcrDigest) QuotedFields(byte[] attest)
    {
        var r = new TpmCommands.Reader(attest, "TPMS_ATTEST");
        if (r.U32() != 0xff544347 || r.U16() != 0x8018)
        {
            throw new AttesterException("az-vtpm", "TPM2_Quote did not return a TPM-generated quote attestation");
        }

        r.Sized();
        var extra = r.Sized().ToArray();
        r.Bytes(17 + 8);
        var count = r.U32();
        for (var i = 0; i < count; i++)
        {
            r.U16();
            r.Bytes(r.U8());
        }

        return (extra, r.Sized().ToArray());
    }

    private static JsonObject VariableData(byte[] hcl, uint reportType)
    {
        if (hcl.Length < VariableDataOffset || BinaryPrimitives.ReadUInt32LittleEndian(hcl) != 0x414c4348)
        {
            throw new AttesterException("az-vtpm", $"NV index 0x{HclReportIndex:x8} does not hold an HCL report");
        }

        var type = BinaryPrimitives.ReadUInt32LittleEndian(hcl.AsSpan(VariableDataOffset - 12));
        if (type != reportType)
        {
            throw new AttesterException("az-vtpm", $"the HCL report holds report type {type}, not {(reportType == 2 ? "SNP (2)" : "TDX (4)")}: wrong --tee for this VM");
        }

        var size = BinaryPrimitives.ReadUInt32LittleEndian(hcl.AsSpan(VariableDataOffset - 4));
        if (size > hcl.Length - VariableDataOffset)
        {
            throw new AttesterException("az-vtpm", "hcl_report.variable_data_size: beyond the report");
        }

        try
        {
            return JsonNode.Parse(hcl.AsSpan(VariableDataOffset, (int)size))?.AsObject() ?? throw new AttesterException("az-vtpm", "hcl_report.variable_data: null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new AttesterException("az-vtpm", "hcl_report.variable_data: not a JSON object", e);
        }
    }

    private static JsonNode? AkJwk(JsonObject variableData) =>
        variableData["keys"] is JsonArray keys ? keys.FirstOrDefault(k => k is JsonObject o && o["kid"]?.GetValueKind() == JsonValueKind.String && o["kid"]!.GetValue<string>() == "HCLAkPub") : null;

    private static byte[] Padded(ReadOnlySpan<byte> reportData)
    {
        var b = new byte[64];
        reportData.CopyTo(b);
        return b;
    }

    internal static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    internal static byte[] FromBase64Url(string text, string field)
    {
        var s = text.Replace('-', '+').Replace('_', '/');
        try
        {
            return Convert.FromBase64String(s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '='));
        }
        catch (FormatException)
        {
            throw new AttesterException("az-vtpm", $"{field}: not base64url");
        }
    }
}

/// <summary>tees az-snp-vtpm / az-tdx-vtpm: the vTPM attester with the KBS binding (the bare 48-byte digest, the quote's qualifying data).</summary>
public sealed class AzureVtpmEvidenceProvider(string tee, AzureVtpmAttester attester) : IEvidenceProvider
{
    public string Tee => tee;

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey) => PrimaryEvidence(nonce, teePubKey, "");

    public JsonElement PrimaryEvidence(string nonce, JsonElement teePubKey, string additionalEvidence) =>
        attester.Evidence(tee, Veil.Protocol.Binding.ReportDataBinding.PrimaryDigest(nonce, teePubKey, additionalEvidence));
}
