using Veil.Policy.Model;

namespace Veil.Policy.Appraisal;

/// <summary>
/// Verified claims of one attester (the CPU TEE, one GPU, one NVSwitch), as a verifier returned them.
/// <paramref name="Verified"/> false means the signature or chain did not verify: the submodule is then
/// contraindicated whatever the claims say.
/// </summary>
public sealed record SubmoduleEvidence(SubmoduleKind Kind, string Tee, IReadOnlyDictionary<string, object> Claims, bool Verified = true, IReadOnlyList<string>? Failures = null);

/// <summary>Everything one attestation presents: the CPU evidence, any GPUs and switches, and init-data claims.</summary>
public sealed record EvidenceSet(IReadOnlyList<SubmoduleEvidence> Submodules, IReadOnlyDictionary<string, string>? InitData = null);
