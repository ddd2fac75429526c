using System.Text.Json.Nodes;
using Veil.Attestation;
using Veil.Protocol.Ear;

namespace Veil.Broker.Appraisal;

/// <summary>Turns one submodule's verification result into its EAR appraisal. Issue 6 brings the real policy engine.</summary>
internal interface IAppraisalPolicy
{
    EarSubmodule Appraise(VerificationResult result, JsonObject annotatedEvidence);
}

/// <summary>
/// Interim rule of issue 5: verified ⇒ affirming (hardware genuine, AR4SI 2), otherwise contraindicated
/// (hardware 97) with one explanation per failed check.
/// </summary>
internal sealed class InterimAppraisalPolicy : IAppraisalPolicy
{
    public const string PolicyId = "veil-interim-verified";

    public EarSubmodule Appraise(VerificationResult result, JsonObject annotatedEvidence)
    {
        var vector = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["instance-identity"] = 0,
            ["configuration"] = 0,
            ["executables"] = 0,
            ["file-system"] = 0,
            ["hardware"] = result.Verified ? 2 : 97,
            ["runtime-opaque"] = 0,
            ["storage-opaque"] = 0,
            ["sourced-data"] = 0,
        };
        return new EarSubmodule(EarStatus.OfVector(vector), vector, PolicyId, annotatedEvidence,
            result.Failures.Select(f => f.ToString()).ToList());
    }
}
