using System.Collections.Concurrent;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;

namespace Veil.Policy.Resources;

/// <summary>
/// What a key broker needs from Veil.Policy in one place: appraise an evidence set with a named attestation
/// policy, and decide a resource release under the resource policy (which names the attestation policy per
/// resource). Attestation policies are loaded once per name and cached; a policy that fails to load fails
/// the request closed (the exception propagates, nothing is released).
/// </summary>
public sealed class PolicyEngine
{
    private readonly Func<string, AttestationPolicy> _load;
    private readonly ConcurrentDictionary<string, Lazy<AttestationPolicy>> _policies = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    public PolicyEngine(ResourcePolicy resources, Func<string, AttestationPolicy> loadPolicy, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(resources);
        ArgumentNullException.ThrowIfNull(loadPolicy);
        ArgumentNullException.ThrowIfNull(time);
        Resources = resources;
        _load = loadPolicy;
        _time = time;
    }

    public ResourcePolicy Resources { get; }

    /// <summary>
    /// The shipped behaviour: every resource needs the strict policy, affirming. Named policies other than
    /// the shipped ones are read as files; <paramref name="parameters"/> supply strict's TCB minimums.
    /// </summary>
    public static PolicyEngine Default(IReadOnlyDictionary<string, string> parameters, IReferenceValueStore? store, TimeProvider time, ResourcePolicy? resources = null) =>
        new(resources ?? ResourcePolicy.StrictDefault, name => DefaultPolicies.Load(name, store, name == DefaultPolicies.Strict ? parameters : null), time);

    public AttestationPolicy Policy(string name) =>
        _policies.GetOrAdd(name, n => new Lazy<AttestationPolicy>(() => _load(n), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    public AppraisalResult Appraise(EvidenceSet evidence, string policyName = DefaultPolicies.Strict) =>
        Appraiser.Appraise(Policy(policyName), evidence, _time);

    /// <summary>Appraises with the policy the resource's rule names and decides; unlisted resources without a default are denied.</summary>
    public (ResourceDecision Decision, AppraisalResult? Appraisal) Decide(string resource, EvidenceSet evidence)
    {
        var rule = Resources.Match(resource);
        if (rule is null)
        {
            return (Resources.Decide(resource, new AppraisalResult("none", EarStatus.None, []), evidence, _time), null);
        }

        var policy = Policy(rule.AttestationPolicy);
        var appraisal = Appraiser.Appraise(policy, evidence, _time);
        return (Resources.Decide(resource, appraisal, evidence, _time, policy.Id), appraisal);
    }
}
