using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Protocol.Messages;
using Veil.Tests.Shared;

namespace Veil.Protocol.Tests.Messages;

public class MessageTests
{
    private static void AssertSameJson(byte[] expected, byte[] actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), "JSON changed on round trip");

    [Fact]
    public void KbsTypes_request_fixture_parses_and_round_trips()
    {
        var bytes = Vectors.Bytes("trustee", "kbs-types", "testdata", "sev_request.json");
        var request = KbsRequest.Parse(bytes);
        Assert.Equal("0.0.0", request.Version);
        Assert.Equal("sev", request.Tee);
        Assert.Equal(JsonValueKind.Object, request.ExtraParams!.Value.ValueKind);
        Assert.True(request.Unknown.ContainsKey("workload_id"));
        AssertSameJson(bytes, request.ToUtf8());
    }

    [Fact]
    public void KbsTypes_challenge_fixture_parses_and_round_trips()
    {
        var bytes = Vectors.Bytes("trustee", "kbs-types", "testdata", "sev_challenge.json");
        var challenge = KbsChallenge.Parse(bytes);
        Assert.Equal("42", challenge.Nonce);
        AssertSameJson(bytes, challenge.ToUtf8());
    }

    [Fact]
    public void Trustee_cca_request_fixture_parses_and_round_trips()
    {
        var bytes = Vectors.Bytes("trustee", "deps", "verifier", "test_data", "cca", "misc", "kbs-request.json");
        var request = KbsRequest.Parse(bytes);
        Assert.Equal(("0.2.0", "cca"), (request.Version, request.Tee));
        Assert.Equal("", request.ExtraParams!.Value.GetString());
        AssertSameJson(bytes, request.ToUtf8());
    }

    [Fact]
    public void Attestation_with_real_snp_evidence_round_trips_with_exact_field_names()
    {
        var evidence = Vectors.Text("trustee", "attestation-service", "tests", "e2e", "evidence.json");
        var json = $$$"""
            {"init-data":{"format":"toml","body":"algorithm = \"sha384\""},
             "runtime-data":{"nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}},
             "tee-evidence":{"primary_evidence":{{{evidence}}},"additional_evidence":""}}
            """;
        var bytes = Encoding.UTF8.GetBytes(json);
        var a = KbsAttestation.Parse(bytes);
        Assert.Equal("toml", a.InitData!.Format);
        Assert.Equal("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", a.RuntimeData.Nonce);
        Assert.Equal("", a.TeeEvidence.AdditionalEvidence);
        Assert.True(a.TeeEvidence.PrimaryEvidence.TryGetProperty("attestation_report", out _));
        var written = a.ToUtf8();
        AssertSameJson(bytes, written);
        var text = Encoding.UTF8.GetString(written);
        foreach (var name in new[] { "\"init-data\"", "\"runtime-data\"", "\"tee-pubkey\"", "\"tee-evidence\"", "\"primary_evidence\"", "\"additional_evidence\"" })
        {
            Assert.Contains(name, text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("{\"tee\":\"snp\"}", "version: missing")]
    [InlineData("{\"version\":4,\"tee\":\"snp\"}", "version: expected a string, got a number")]
    [InlineData("[]", "request: expected a JSON object, got an array")]
    [InlineData("{\"version\":\"0.4.0\",", "request: not valid JSON")]
    public void Bad_request_names_the_field(string json, string message)
    {
        var e = Assert.Throws<ProtocolFormatException>(() => KbsRequest.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"tee-evidence\":{\"primary_evidence\":{}}}", "runtime-data: missing")]
    [InlineData("{\"runtime-data\":{\"nonce\":\"n\"},\"tee-evidence\":{\"primary_evidence\":{}}}", "runtime-data.tee-pubkey: missing")]
    [InlineData("{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":\"k\"},\"tee-evidence\":{\"primary_evidence\":{}}}", "runtime-data.tee-pubkey: expected a JSON object")]
    [InlineData("{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":{}}", "tee-evidence.primary_evidence: missing")]
    [InlineData("{\"runtime-data\":{\"nonce\":\"n\",\"tee-pubkey\":{}},\"tee-evidence\":{\"primary_evidence\":{},\"additional_evidence\":{}}}", "tee-evidence.additional_evidence: expected a string")]
    public void Bad_attestation_names_the_field(string json, string message)
    {
        var e = Assert.Throws<ProtocolFormatException>(() => KbsAttestation.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_messages_are_typed_errors()
    {
        var bytes = Vectors.Bytes("trustee", "kbs-types", "testdata", "sev_challenge.json");
        for (var len = 0; len < bytes.Length; len += 997)
        {
            Assert.Throws<ProtocolFormatException>(() => KbsChallenge.Parse(bytes.AsMemory(0, len)));
        }
    }

    [Fact]
    public void Random_bytes_are_typed_errors()
    {
        var rng = new Random(5);
        for (var i = 0; i < 200; i++)
        {
            var junk = new byte[rng.Next(1, 300)];
            rng.NextBytes(junk);
            Assert.Throws<ProtocolFormatException>(() => KbsAttestation.Parse(junk));
        }
    }

    [Fact]
    public void Oversized_message_is_refused_before_parsing()
    {
        var big = new byte[(2 * 1024 * 1024) + 1];
        var e = Assert.Throws<ProtocolFormatException>(() => KbsRequest.Parse(big));
        Assert.Contains("exceeds the limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_a_string_is_a_named_refusal_not_a_crash()
    {
        var request = Encoding.UTF8.GetBytes("""{"version":"0.4.0","tee":"snpX","extra-params":""}""");
        request[Array.IndexOf(request, (byte)'X')] = 0xC3;
        var e = Assert.Throws<ProtocolFormatException>(() => KbsRequest.Parse(request));
        Assert.Contains("not valid UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_are_refused_so_no_two_readers_disagree()
    {
        var e = Assert.Throws<ProtocolFormatException>(() => KbsRequest.Parse(Encoding.UTF8.GetBytes("""{"version":"0.4.0","tee":"sample","tee":"snp","extra-params":""}""")));
        Assert.Contains("not valid JSON", e.Message, StringComparison.Ordinal);
        Assert.Contains("Duplicate property 'tee'", e.Message, StringComparison.Ordinal);
    }
}
