using Veil.Broker.Rcar;
using Veil.Policy.Appraisal;

namespace Veil.Broker.Flow;

/// <summary>
/// What <see cref="AttestationFlow.AttestAsync"/> decided. One case per way an attestation ends, so that the endpoint
/// maps each to its HTTP status and problem kind in one place and a test can assert on the case rather than on text.
/// Every refusal carries the problem kind a KBS client sees (Trustee's names where they exist) and a detail to act on.
/// </summary>
internal abstract record AttestOutcome
{
    /// <summary>The evidence verified and was appraised; the session now holds <paramref name="Token"/>.</summary>
    public sealed record Attested(RcarSession Session, string Token, AppraisalResult Appraisal) : AttestOutcome;

    /// <summary>A refusal: <paramref name="Kind"/> is the problem's title.</summary>
    public abstract record Refused(string Kind, string Detail) : AttestOutcome;

    /// <summary>No live session for the cookie (unknown, expired), or the session went before the token was stored.</summary>
    public sealed record NoSession(string Detail) : Refused("InvalidSession", Detail);

    /// <summary>The body is not a KBS attestation, or its tee-pubkey is one the broker will not encrypt to (a 400: fix the request).</summary>
    public sealed record Malformed(string Kind, string Detail) : Refused(Kind, Detail);

    /// <summary>The nonce is not this session's, or it was already used (a replay, on any replica).</summary>
    public sealed record NonceRefused(string Detail) : Refused("InvalidNonce", Detail);

    /// <summary>The session's TEE has no verifier here (sample without --allow-sample, collateral missing).</summary>
    public sealed record TeeRefused(string Kind, string Detail) : Refused(Kind, Detail);

    /// <summary>The CPU evidence is malformed or did not verify (signature, chain, report data binding).</summary>
    public sealed record EvidenceRejected(string Kind, string Detail) : Refused(Kind, Detail);

    /// <summary>The init-data is not TOML, does not parse, or is not the one the TEE was launched with.</summary>
    public sealed record InitDataRejected(string Kind, string Detail) : Refused(Kind, Detail);

    /// <summary>A GPU or NVSwitch in additional_evidence did not verify, or cannot be verified here.</summary>
    public sealed record DevicesRejected(string Kind, string Detail) : Refused(Kind, Detail);

    /// <summary>The request body is over the broker's cap (read by the endpoint; kept here so every ending is one type).</summary>
    public sealed record TooLarge(string Detail) : Refused("PayloadTooLarge", Detail);
}
