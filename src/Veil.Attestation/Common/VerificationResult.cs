namespace Veil.Attestation;

/// <summary>One failed check: its stable name and, where they make sense, the expected and actual values.</summary>
public sealed record VerificationFailure(string Check, string? Expected, string? Actual)
{
    public override string ToString() =>
        Expected is null && Actual is null ? Check : $"{Check}: expected {Expected ?? "-"}, actual {Actual ?? "-"}";
}

/// <summary>
/// What a verifier returns. <see cref="Verified"/> is true only when no check failed; the claims are
/// plain JSON-shaped values (string, long, bool, string list) under stable documented names.
/// Claims are filled in even when verification fails so that a failure can be explained, but they must
/// not be trusted unless <see cref="Verified"/> is true.
/// </summary>
public sealed class VerificationResult
{
    /// <param name="parts">The members' own results when the evidence is a set (every GPU and NVSwitch of one evidence list).</param>
    public VerificationResult(string tee, IReadOnlyDictionary<string, object> claims, IReadOnlyList<VerificationFailure> failures, IReadOnlyList<VerificationResult>? parts = null)
    {
        Tee = tee;
        Claims = claims;
        Failures = failures;
        Parts = parts ?? [];
    }

    public string Tee { get; }

    public bool Verified => Failures.Count == 0;

    public IReadOnlyDictionary<string, object> Claims { get; }

    public IReadOnlyList<VerificationFailure> Failures { get; }

    /// <summary>Empty unless the evidence is a set; then each member's result (the combined verdict is this one).</summary>
    public IReadOnlyList<VerificationResult> Parts { get; }
}
