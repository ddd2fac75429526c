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
    public static JsonElement Evidence(string nonce, JsonElement teePubKey, string additionalEvidence = "")
    {
        var digest = ReportDataBinding.PrimaryDigest(nonce, teePubKey, additionalEvidence);
        var json = KbsJson.Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("svn", "1");
            w.WriteString("report_data", Convert.ToBase64String(digest));
            w.WriteEndObject();
        });
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
