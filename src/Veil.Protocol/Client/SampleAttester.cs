using System.Text.Json;
using Veil.Protocol.Binding;
using Veil.Protocol.Messages;

namespace Veil.Protocol.Client;

/// <summary>
/// Evidence of the KBS <c>sample</c> TEE, as guest-components' sample attester makes it: <c>{"svn":"1",
/// "report_data": std-base64(SHA-384 binding)}</c>. It proves nothing about hardware; brokers refuse it by default.
/// </summary>
public static class SampleAttester
{
    /// <summary>
    /// <paramref name="svn"/> other than guest-components' fixed "1" exists so that demos and tests can present
    /// evidence a policy refuses (the sample TEE's claims are whatever the guest says).
    /// </summary>
    public static JsonElement Evidence(string nonce, JsonElement teePubKey, string additionalEvidence = "", string svn = "1")
    {
        var digest = ReportDataBinding.PrimaryDigest(nonce, teePubKey, additionalEvidence);
        var json = KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("svn", svn);
            w.WriteString("report_data", Convert.ToBase64String(digest));
            w.WriteEndObject();
        });
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
