using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Protocol.Jose;

namespace Veil.Broker.Admin;

/// <summary>A compact JWT read strictly (no duplicate members), before any signature check.</summary>
internal sealed record ParsedAdminToken(string[] Parts, string? Alg, string? Kid, JsonObject Payload)
{
    public string? Claim(string name) => Payload[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}

/// <summary>
/// The claim rules every admin token follows, local or OIDC: <c>exp</c> is required, and <c>exp</c>, <c>nbf</c>,
/// <c>iat</c> are NumericDates within the years 1–9999 (a wider value is refused, not clamped); <c>role</c>,
/// <c>iss</c>, <c>sub</c> are strings; <c>aud</c> a string or an array of strings. Shapes are checked before any
/// claim is used, so a wrongly typed claim is named whoever signed it. Times are checked against the broker's clock.
/// </summary>
internal static class AdminTokenClaims
{
    /// <summary>The NumericDate range a <see cref="DateTimeOffset"/> can hold (0001-01-01 to 9999-12-31).</summary>
    private static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds();
    private static readonly long MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    public const string Malformed = "admin token is malformed (expected a compact JWT)";

    public static ParsedAdminToken? Parse(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            var header = JsonNode.Parse(Base64UrlText.Decode(parts[0], "token.header"), documentOptions: Protocol.Messages.KbsJson.StrictDocumentOptions) as JsonObject;
            var payload = JsonNode.Parse(Base64UrlText.Decode(parts[1], "token.payload"), documentOptions: Protocol.Messages.KbsJson.StrictDocumentOptions) as JsonObject;
            if (payload is null)
            {
                return null;
            }

            static string? Text(JsonNode? n) => n is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
            return new ParsedAdminToken(parts, Text(header?["alg"]), Text(header?["kid"]), payload);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or Protocol.ProtocolFormatException)
        {
            return null;
        }
    }

    /// <summary>What is wrong with the claims' types or ranges, or null.</summary>
    public static string? ShapeError(JsonObject payload)
    {
        if (payload["exp"] is null)
        {
            return "admin token has no expiry ('exp')";
        }

        foreach (var name in new[] { "exp", "nbf", "iat" })
        {
            if (payload.ContainsKey(name) && NumericDate(payload[name]) is null)
            {
                return $"admin token claim '{name}' is not a NumericDate (a number of seconds since 1970 within the years 1 to 9999)";
            }
        }

        foreach (var name in new[] { "role", "iss", "sub" })
        {
            if (payload.ContainsKey(name) && (payload[name] is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
            {
                return $"admin token claim '{name}' must be a string";
            }
        }

        if (payload.ContainsKey("aud") && !(payload["aud"] is JsonValue { } s && s.GetValueKind() == JsonValueKind.String)
            && !(payload["aud"] is JsonArray list && list.All(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.String)))
        {
            return "admin token claim 'aud' must be a string or an array of strings";
        }

        return null;
    }

    /// <summary>Audience (when one is required), expiry and not-before against <paramref name="now"/>; null when all hold.</summary>
    public static string? AudienceAndLifetimeError(JsonObject payload, string? audience, DateTimeOffset now)
    {
        if (audience is not null && !HasAudience(payload["aud"], audience))
        {
            return payload["aud"] is null
                ? $"admin token has no audience ('aud'); this broker requires '{audience}'"
                : $"admin token's audience ('aud') does not include '{audience}'";
        }

        var exp = NumericDate(payload["exp"])!.Value;
        if (now >= exp)
        {
            return $"admin token expired at {exp:O}";
        }

        if (NumericDate(payload["nbf"]) is { } nbf && now < nbf)
        {
            return $"admin token is not valid before {nbf:O}";
        }

        return null;
    }

    /// <summary>A JSON number within the DateTimeOffset range (fractions of a second dropped), else null.</summary>
    private static DateTimeOffset? NumericDate(JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue<double>(out var seconds)
            || double.IsNaN(seconds) || seconds < MinSeconds || seconds > MaxSeconds)
        {
            return null;
        }

        return DateTimeOffset.FromUnixTimeSeconds((long)Math.Floor(seconds));
    }

    private static bool HasAudience(JsonNode? aud, string audience) => aud switch
    {
        JsonValue v => v.GetValue<string>() == audience,
        JsonArray list => list.Any(x => x!.GetValue<string>() == audience),
        _ => false,
    };
}
