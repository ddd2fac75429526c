namespace Veil.Attestation.Verification;

/// <summary>
/// One TEE's verifier behind the common contract: evidence bytes (in any of the forms that TEE's reader accepts)
/// and what they must be bound to in, verified claims or named failures out. Collateral and time are fixed when the
/// <see cref="EvidenceVerifierFactory"/> builds it, so the CLI and the broker cannot wire them differently.
/// </summary>
public interface IEvidenceVerifier
{
    /// <summary>The KBS name of the TEE (<see cref="Abi.Tee.TeeNames"/>).</summary>
    string Tee { get; }

    /// <exception cref="EvidenceFormatException">The evidence (or an attachment) cannot be parsed; never a pass.</exception>
    Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default);
}
