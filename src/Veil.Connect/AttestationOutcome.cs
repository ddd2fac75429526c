using Veil.Policy.Appraisal;

namespace Veil.Connect;

/// <summary>One attestation of one connection: accepted, or refused with every reason (explanation lines).</summary>
/// <param name="Endpoint">The gateway as configured (host:port), not anything the gateway said.</param>
/// <param name="Facts">What was verified, for people: platform, measurement, GPUs, policy.</param>
public sealed record AttestationOutcome(
    bool Accepted,
    DateTimeOffset At,
    string Endpoint,
    string? Tee,
    string? TlsSpkiSha256,
    IReadOnlyList<string> Reasons,
    AppraisalResult? Appraisal,
    IReadOnlyDictionary<string, string> Facts)
{
    public static AttestationOutcome Refused(DateTimeOffset at, string endpoint, string reason, string? tee = null, string? key = null) =>
        new(false, at, endpoint, tee, key, [reason], null, new Dictionary<string, string>());
}

/// <summary>The gateway's evidence was refused: nothing was, or will be, written on that connection.</summary>
public sealed class AttestationRefusedException : Exception
{
    public AttestationRefusedException(AttestationOutcome outcome)
        : base("attestation refused: " + string.Join("; ", outcome?.Reasons ?? []))
    {
        Outcome = outcome!;
    }

    public AttestationRefusedException()
        : this(AttestationOutcome.Refused(DateTimeOffset.UnixEpoch, "", "refused"))
    {
    }

    public AttestationRefusedException(string message)
        : this(AttestationOutcome.Refused(DateTimeOffset.UnixEpoch, "", message))
    {
    }

    public AttestationRefusedException(string message, Exception inner)
        : base(message, inner)
    {
        Outcome = AttestationOutcome.Refused(DateTimeOffset.UnixEpoch, "", message);
    }

    public AttestationOutcome Outcome { get; }
}
