using System.Text.Json;
using Veil.Protocol.Json;

namespace Veil.Protocol.Messages;

/// <summary>Optional init-data of an Attestation: <c>{format, body}</c> (the builtin Trustee AS only accepts toml).</summary>
public sealed record InitData(string Format, string Body);

/// <summary>
/// <c>runtime-data</c>: the challenge nonce and the TEE's public key. The JWK is kept as the exact JSON the
/// client sent because the report-data binding hashes it as received.
/// </summary>
public sealed record RuntimeData(string Nonce, JsonElement TeePubKey);

/// <summary>
/// <c>tee-evidence</c>: primary (CPU) evidence as TEE-specific JSON, and additional device evidence as a
/// <em>string</em> holding a JSON map tee → evidence (or empty). Note the snake_case names here.
/// </summary>
public sealed record TeeEvidence(JsonElement PrimaryEvidence, string? AdditionalEvidence);

/// <summary>RCAR Attestation, body of <c>POST /kbs/v0/attest</c> (protocol 0.4.0 layout).</summary>
public sealed record KbsAttestation(InitData? InitData, RuntimeData RuntimeData, TeeEvidence TeeEvidence, IReadOnlyDictionary<string, JsonElement> Unknown)
{
    public KbsAttestation(RuntimeData runtimeData, TeeEvidence teeEvidence)
        : this(null, runtimeData, teeEvidence, new Dictionary<string, JsonElement>())
    {
    }

    public static KbsAttestation Parse(ReadOnlyMemory<byte> utf8)
    {
        using var doc = JsonFields.ParseDocument(utf8, "attestation");
        var root = JsonFields.RequireObject(doc.RootElement, "attestation");

        InitData? init = null;
        if (root.TryGetProperty("init-data", out var i) && i.ValueKind != JsonValueKind.Null)
        {
            JsonFields.RequireObject(i, "init-data");
            init = new InitData(JsonFields.RequireString(i, "format", "init-data"), JsonFields.RequireString(i, "body", "init-data"));
        }

        var rd = JsonFields.RequireObject(JsonFields.Require(root, "runtime-data", ""), "runtime-data");
        var nonce = JsonFields.RequireString(rd, "nonce", "runtime-data");
        var key = JsonFields.RequireObject(JsonFields.Require(rd, "tee-pubkey", "runtime-data"), "runtime-data.tee-pubkey").Clone();

        var te = JsonFields.RequireObject(JsonFields.Require(root, "tee-evidence", ""), "tee-evidence");
        var primary = JsonFields.Require(te, "primary_evidence", "tee-evidence").Clone();
        var additional = JsonFields.OptionalString(te, "additional_evidence", "tee-evidence");

        return new KbsAttestation(init, new RuntimeData(nonce, key), new TeeEvidence(primary, additional),
            JsonFields.Unknown(root, "init-data", "runtime-data", "tee-evidence"));
    }

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        if (InitData is { } init)
        {
            w.WriteStartObject("init-data");
            w.WriteString("format", init.Format);
            w.WriteString("body", init.Body);
            w.WriteEndObject();
        }

        w.WriteStartObject("runtime-data");
        w.WriteString("nonce", RuntimeData.Nonce);
        w.WritePropertyName("tee-pubkey");
        RuntimeData.TeePubKey.WriteTo(w);
        w.WriteEndObject();

        w.WriteStartObject("tee-evidence");
        w.WritePropertyName("primary_evidence");
        TeeEvidence.PrimaryEvidence.WriteTo(w);
        if (TeeEvidence.AdditionalEvidence is { } a)
        {
            w.WriteString("additional_evidence", a);
        }

        w.WriteEndObject();
        KbsJson.WriteUnknown(w, Unknown);
        w.WriteEndObject();
    }
}
