using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Veil.Protocol.Jose;

namespace Veil.Protocol.Ear;

/// <summary>
/// Verifies EAR tokens: signature (ES256 by one of the given keys, selected by <c>kid</c>), issuer, expiry
/// (against the injected clock) and profile. Keys are imported once. Any failure is a
/// <see cref="SecurityTokenException"/> whose message names the reason, never the token.
/// </summary>
public sealed class EarTokenVerifier
{
    private readonly JsonWebTokenHandler _handler = new();
    private readonly TokenValidationParameters _parameters;
    private readonly TimeProvider _time;
    private readonly string _issuer;

    public EarTokenVerifier(IReadOnlyList<Jwk> keys, string issuer, TimeProvider time)
    {
        _issuer = issuer;
        _time = time;
        _parameters = new TokenValidationParameters
        {
            IssuerSigningKeys = keys.Select(k => (SecurityKey)new ECDsaSecurityKey(k.CreateEcdsa()) { KeyId = k.Kid }).ToList(),
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidIssuer = issuer,
            ValidateAudience = false,
            ValidateLifetime = false, // checked below against the injected clock
            RequireExpirationTime = false,
            TryAllIssuerSigningKeys = true,
        };
    }

    public async Task<EarClaims> VerifyAsync(string token)
    {
        var result = await _handler.ValidateTokenAsync(token, _parameters).ConfigureAwait(false);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            throw new SecurityTokenException("attestation token rejected: " + EarToken.Reason(result.Exception));
        }

        var payload = JsonNode.Parse(Base64UrlText.Decode(jwt.EncodedPayload, "token.payload"))!.AsObject();
        var exp = EarToken.ReadTime(payload, "exp");
        var iat = EarToken.ReadTime(payload, "iat");
        if (_time.GetUtcNow() >= exp)
        {
            throw new SecurityTokenException($"attestation token rejected: expired at {exp:O}");
        }

        if (payload["eat_profile"]?.GetValue<string>() != EarToken.Profile)
        {
            throw new SecurityTokenException("attestation token rejected: eat_profile is not " + EarToken.Profile);
        }

        var statuses = new Dictionary<string, string>(StringComparer.Ordinal);
        if (payload["submods"] is JsonObject submods)
        {
            foreach (var (name, node) in submods)
            {
                statuses[name] = node?["ear.status"]?.GetValue<string>() ?? EarStatus.None;
            }
        }

        return new EarClaims(_issuer, iat, exp, statuses, payload);
    }
}
