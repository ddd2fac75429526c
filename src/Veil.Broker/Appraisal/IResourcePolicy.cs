using Veil.Broker.Verification;
using Veil.Protocol.Ear;

namespace Veil.Broker.Appraisal;

/// <summary>A release decision and, when denied, the reason a human can act on.</summary>
internal sealed record ResourceDecision(bool Allow, string Reason);

/// <summary>Decides whether a verified attestation token may receive a resource. Issue 6 replaces the interim rule.</summary>
internal interface IResourcePolicy
{
    ResourceDecision Evaluate(EarClaims token, string resourcePath);
}

/// <summary>Interim rule: every submodule affirming, and the TEE is not <c>sample</c> unless --allow-sample.</summary>
internal sealed class InterimResourcePolicy(bool allowSample) : IResourcePolicy
{
    public ResourceDecision Evaluate(EarClaims token, string resourcePath)
    {
        if (token.SubmoduleStatus.Count == 0)
        {
            return new(false, "token has no appraised submodules");
        }

        var notAffirming = token.SubmoduleStatus.Where(s => s.Value != EarStatus.Affirming).Select(s => $"{s.Key}={s.Value}").ToList();
        if (notAffirming.Count > 0)
        {
            return new(false, "not every submodule is affirming: " + string.Join(", ", notAffirming));
        }

        if (token.Tee == TeeNames.Sample && !allowSample)
        {
            return new(false, "token is from the sample TEE, which this broker does not accept");
        }

        return new(true, "every submodule affirming");
    }
}
