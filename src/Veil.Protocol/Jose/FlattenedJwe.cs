using System.Text.Json;
using Veil.Protocol.Json;
using Veil.Protocol.Messages;

namespace Veil.Protocol.Jose;

/// <summary>
/// RFC 7516 §7.2.2 flattened JSON serialization, exactly the members the KBS resource response has:
/// <c>protected, encrypted_key, iv, ciphertext, tag</c> (all base64url; no <c>aad</c>, no unprotected header).
/// </summary>
public sealed record FlattenedJwe(string Protected, string EncryptedKey, string Iv, string Ciphertext, string Tag)
{
    public static FlattenedJwe Parse(ReadOnlyMemory<byte> utf8)
    {
        using var doc = JsonFields.ParseDocument(utf8, "jwe");
        var root = JsonFields.RequireObject(doc.RootElement, "jwe");
        return new FlattenedJwe(
            JsonFields.RequireString(root, "protected", "jwe"),
            JsonFields.RequireString(root, "encrypted_key", "jwe"),
            JsonFields.RequireString(root, "iv", "jwe"),
            JsonFields.RequireString(root, "ciphertext", "jwe"),
            JsonFields.RequireString(root, "tag", "jwe"));
    }

    public byte[] ToUtf8() => KbsJson.Serialize(WriteTo);

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("protected", Protected);
        w.WriteString("encrypted_key", EncryptedKey);
        w.WriteString("iv", Iv);
        w.WriteString("ciphertext", Ciphertext);
        w.WriteString("tag", Tag);
        w.WriteEndObject();
    }
}
