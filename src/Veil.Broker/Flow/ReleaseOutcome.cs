using System.Text.Json.Nodes;
using Veil.Protocol.Jose;

namespace Veil.Broker.Flow;

/// <summary>
/// What <see cref="ReleaseFlow.ReleaseAsync"/> decided for one resource request; the endpoint maps each case to a
/// status and an RFC 7807 problem whose title is <see cref="Refused.Kind"/>.
/// </summary>
internal abstract record ReleaseOutcome
{
    /// <summary>The resource, encrypted to the token's tee-pubkey.</summary>
    public sealed record Released(FlattenedJwe Jwe) : ReleaseOutcome;

    public abstract record Refused(string Kind, string Detail) : ReleaseOutcome;

    /// <summary>The path is not repository/type/tag of allowed characters (400).</summary>
    public sealed record InvalidPath(string Detail) : Refused("InvalidResourcePath", Detail);

    /// <summary>Neither a bearer token nor an attested session (401).</summary>
    public sealed record NoToken(string Detail) : Refused("TokenNotFound", Detail);

    /// <summary>The token's signature, issuer, lifetime or claims did not check out (401).</summary>
    public sealed record TokenRejected(string Detail) : Refused("TokenVerificationFailed", Detail);

    /// <summary>The resource policy (or the broker's TEE rules) refuse this attestation (401); the failed rules as EAR explanations.</summary>
    public sealed record PolicyDenied(string Detail, JsonArray? Explanations) : Refused("PolicyDeny", Detail);

    /// <summary>The token names no key to encrypt to (401).</summary>
    public sealed record NoTeeKey(string Detail) : Refused("TeePubKeyNotFound", Detail);

    /// <summary>The token's key cannot be encrypted to (400: attest again with another key).</summary>
    public sealed record BadTeeKey(string Detail) : Refused("InvalidTeePubKey", Detail);

    /// <summary>The policy allows it but no such resource exists (404).</summary>
    public sealed record NotFound(string Detail) : Refused("ResourceNotFound", Detail);

    /// <summary>The master key that wraps the resource's data key is not available (token gone, PIN refused, key not configured) (503).</summary>
    public sealed record MasterKeyUnavailable(string Detail) : Refused("MasterKeyUnavailable", Detail);

    /// <summary>The stored value failed its authentication (tampered or corrupted store): nothing is released.</summary>
    public sealed record StoredValueUnreadable(string Detail) : Refused("ResourceUnreadable", Detail);
}
