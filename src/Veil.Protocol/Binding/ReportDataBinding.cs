using System.Security.Cryptography;
using System.Text.Json;
using Veil.Protocol.Json;
using Veil.Protocol.Messages;

namespace Veil.Protocol.Binding;

/// <summary>
/// How the challenge nonce and the TEE public key are bound into evidence (KBS protocol 0.4.0, as computed by
/// Trustee's KBS and guest-components): the nonce is hashed as its base64 <em>string</em> and the JWK as the
/// JSON object the client sent, both through RFC 8785 canonical JSON.
/// </summary>
public static class ReportDataBinding
{
    public const int CpuReportDataLength = 64;
    public const int GpuNonceLength = 32;

    /// <summary>SHA-384(JCS({"additional-evidence", "nonce", "tee-pubkey"})): 48 bytes.</summary>
    public static byte[] PrimaryDigest(string nonce, JsonElement teePubKey, string additionalEvidence)
    {
        var json = KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("additional-evidence", additionalEvidence);
            w.WriteString("nonce", nonce);
            w.WritePropertyName("tee-pubkey");
            teePubKey.WriteTo(w);
            w.WriteEndObject();
        });
        return Digest(json);
    }

    /// <summary>CPU report data (SNP, TDX REPORT_DATA): the primary digest zero-padded to 64 bytes.</summary>
    public static byte[] CpuReportData(string nonce, JsonElement teePubKey, string additionalEvidence)
    {
        var padded = new byte[CpuReportDataLength];
        PrimaryDigest(nonce, teePubKey, additionalEvidence).CopyTo(padded, 0);
        return padded;
    }

    /// <summary>SHA-384(JCS({"nonce", "tee-pubkey"})): the device runtime-data digest (48 bytes).</summary>
    public static byte[] DeviceDigest(string nonce, JsonElement teePubKey)
    {
        var json = KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("nonce", nonce);
            w.WritePropertyName("tee-pubkey");
            teePubKey.WriteTo(w);
            w.WriteEndObject();
        });
        return Digest(json);
    }

    /// <summary>Each GPU's SPDM nonce: the first 32 bytes of <see cref="DeviceDigest"/>.</summary>
    public static byte[] GpuNonce(string nonce, JsonElement teePubKey) => DeviceDigest(nonce, teePubKey)[..GpuNonceLength];

    private static byte[] Digest(byte[] json)
    {
        using var doc = JsonFields.ParseDocument(json, "runtime-data");
        return SHA384.HashData(Jcs.Canonicalize(doc.RootElement));
    }
}
