using System.Text.Json;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>
/// A signed Intel collateral object: the exact bytes Intel signed (the raw JSON text of <c>tcbInfo</c> or
/// <c>enclaveIdentity</c> as transmitted) and the ECDSA P-256 signature r‖s over them. The body is never
/// re-serialized: any change of whitespace or key order must, and does, break the signature.
/// </summary>
public sealed record SignedJson(ReadOnlyMemory<byte> Body, ReadOnlyMemory<byte> Signature)
{
    /// <summary>
    /// Splits a PCS response body <c>{"&lt;name&gt;":{…},"signature":"&lt;hex&gt;"}</c>, locating the inner object's byte
    /// range with <see cref="Utf8JsonReader"/> (token start to the end of its matching brace).
    /// </summary>
    public static SignedJson FromPcsBody(ReadOnlyMemory<byte> document, string name, string field)
    {
        ReadOnlyMemory<byte>? body = null;
        string? signature = null;
        try
        {
            var reader = new Utf8JsonReader(document.Span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new EvidenceFormatException(field, "not a JSON object");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isBody = reader.ValueTextEquals(name);
                var isSignature = reader.ValueTextEquals("signature");
                reader.Read();
                if (isBody)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        throw new EvidenceFormatException($"{field}.{name}", "not a JSON object");
                    }

                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    body = document[start..(int)reader.BytesConsumed];
                }
                else if (isSignature)
                {
                    signature = reader.TokenType == JsonTokenType.String
                        ? reader.GetString()
                        : throw new EvidenceFormatException($"{field}.signature", "not a string");
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException e)
        {
            throw new EvidenceFormatException(field, "not valid JSON: " + e.Message, e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString on a string that is not valid UTF-8.
            throw new EvidenceFormatException(field, "not valid UTF-8 JSON text", e);
        }

        return new SignedJson(
            body ?? throw new EvidenceFormatException($"{field}.{name}", "missing"),
            ParseSignature(signature ?? throw new EvidenceFormatException($"{field}.signature", "missing"), $"{field}.signature"));
    }

    /// <summary>The hex r‖s signature of PCS bodies and of the dcap-qvl collateral file.</summary>
    public static byte[] ParseSignature(string hex, string field)
    {
        var bytes = Hex.Parse(hex, field);
        return bytes.Length == 64 ? bytes : throw new EvidenceFormatException(field, $"{bytes.Length} bytes, an ECDSA P-256 r‖s signature is 64");
    }
}
