using System.Text.Json;
using Veil.Protocol.Json;

namespace Veil.Protocol.Messages;

/// <summary>
/// RCAR Request, body of <c>POST /kbs/v0/auth</c>: <c>{version, tee, extra-params}</c>.
/// The version is not checked here (the broker answers a mismatch with 401); unknown members are kept
/// in <see cref="Unknown"/> so that older messages (e.g. kbs-types' <c>workload_id</c>) round-trip.
/// </summary>
public sealed record KbsRequest(string Version, string Tee, JsonElement? ExtraParams, IReadOnlyDictionary<string, JsonElement> Unknown)
{
    public const string ProtocolVersion = "0.4.0";

    /// <summary>No TEE name or protocol version is longer; a longer one is refused before it is read.</summary>
    public const int MaxFieldBytes = 64;

    public KbsRequest(string tee, JsonElement? extraParams = null)
        : this(ProtocolVersion, tee, extraParams, new Dictionary<string, JsonElement>())
    {
    }

    public static KbsRequest Parse(ReadOnlyMemory<byte> utf8)
    {
        using var doc = JsonFields.ParseDocument(utf8, "request");
        var root = JsonFields.RequireObject(doc.RootElement, "request");
        return new KbsRequest(
            JsonFields.RequireShortString(root, "version", "", MaxFieldBytes),
            JsonFields.RequireShortString(root, "tee", "", MaxFieldBytes),
            root.TryGetProperty("extra-params", out var extra) ? extra.Clone() : null,
            JsonFields.Unknown(root, "version", "tee", "extra-params"));
    }

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("version", Version);
        w.WriteString("tee", Tee);
        if (ExtraParams is { } e)
        {
            w.WritePropertyName("extra-params");
            e.WriteTo(w);
        }

        KbsJson.WriteUnknown(w, Unknown);
        w.WriteEndObject();
    }
}
