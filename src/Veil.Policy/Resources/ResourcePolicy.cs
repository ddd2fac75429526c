using Veil.Policy.Appraisal;
using Veil.Policy.Loading;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;

namespace Veil.Policy.Resources;

/// <summary>An extra condition a resource demands beyond its attestation policy (e.g. init-data image digest).</summary>
public sealed record ResourceCondition(string Name, Condition Test);

/// <summary>Which resources (KBS path <c>repo/type/tag</c>, <c>*</c> matching one segment) need which policy and conditions.</summary>
public sealed record ResourceRule(string Pattern, string AttestationPolicy, EarStatus MinimumStatus, IReadOnlyList<ResourceCondition> Require, SourceLocation Source)
{
    public bool Matches(string path)
    {
        var p = Pattern.Split('/');
        var r = path.Split('/');
        return p.Length == r.Length && p.Zip(r).All(x => x.First == "*" || string.Equals(x.First, x.Second, StringComparison.Ordinal));
    }
}

/// <summary>The answer for one resource request: allowed or not, under which policy, and why not.</summary>
public sealed record ResourceDecision(bool Allowed, string Resource, string? AttestationPolicy, IReadOnlyList<Explanation> Explanations);

/// <summary>
/// A loaded <c>kind: ResourcePolicy</c>. Resources no rule matches get the <c>default</c> rule if there is
/// one and are denied otherwise; a release needs the attestation status to be at least as good as the rule's
/// minimum (affirming unless stated) and every extra condition to hold.
/// </summary>
public sealed class ResourcePolicy
{
    internal ResourcePolicy(string file, IReadOnlyList<ResourceRule> rules, ResourceRule? fallback, IReferenceValueStore store)
    {
        File = file;
        Rules = rules;
        Default = fallback;
        Store = store;
    }

    public string File { get; }

    public IReadOnlyList<ResourceRule> Rules { get; }

    public ResourceRule? Default { get; }

    internal IReferenceValueStore Store { get; }

    /// <summary>The shipped behaviour: every resource needs the strict policy, affirming.</summary>
    public static ResourcePolicy StrictDefault { get; } = new("built-in", [], new ResourceRule("*", DefaultPolicies.Strict, EarStatus.Affirming, [], new SourceLocation("built-in", 0)), new ReferenceValueStore());

    /// <summary>The rule for a resource, or null when it is denied outright.</summary>
    public ResourceRule? Match(string resource) => Rules.FirstOrDefault(r => r.Matches(resource)) ?? Default;

    /// <summary>
    /// Decides a release given the appraisal made with the policy <see cref="Match"/> named. An appraisal made
    /// with another policy is refused; <paramref name="expectedPolicyId"/> is that policy's id when the rule
    /// names it by file path (default: <c>veil:&lt;name&gt;</c>).
    /// </summary>
    public ResourceDecision Decide(string resource, AppraisalResult appraisal, EvidenceSet evidence, TimeProvider time, string? expectedPolicyId = null)
    {
        ArgumentNullException.ThrowIfNull(appraisal);
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(time);
        var rule = Match(resource);
        if (rule is null)
        {
            return new ResourceDecision(false, resource, null,
                [new Explanation("resource", "resource-policy", "resource", "matches", "a resource listed in the resource policy", resource, File, Severity.Contraindicated)]);
        }

        var explanations = new List<Explanation>();
        var expectedId = expectedPolicyId ?? $"veil:{rule.AttestationPolicy}";
        if (appraisal.PolicyId != expectedId)
        {
            explanations.Add(new Explanation("resource", "attestation-policy", "ear.appraisal-policy-id", "equals", expectedId, appraisal.PolicyId, rule.Source.ToString(), Severity.Contraindicated));
        }

        // "none" (nothing was appraised) never releases, whatever minimum the rule allows.
        if (appraisal.Status == EarStatus.None || appraisal.Status > rule.MinimumStatus)
        {
            explanations.AddRange(appraisal.Explanations);
            explanations.Add(new Explanation("resource", "minimum-status", "ear.status", "atLeast", "at least " + AppraisalResult.StatusName(rule.MinimumStatus),
                AppraisalResult.StatusName(appraisal.Status), rule.Source.ToString(), Severity.Contraindicated));
        }

        var cpu = evidence.Submodules.FirstOrDefault(s => s.Kind == SubmoduleKind.Cpu);
        var policy = new AttestationPolicy(rule.AttestationPolicy, File, new Dictionary<SubmoduleKind, SubmodulePolicy>(), [], Store);
        var ctx = new Appraiser.Context(policy, time.GetUtcNow(),
            evidence.Submodules.Count(s => s.Kind == SubmoduleKind.Gpu), evidence.Submodules.Count(s => s.Kind == SubmoduleKind.Switch), evidence.InitData,
            evidence.Submodules.Count(s => s.Kind == SubmoduleKind.Cpu));
        var cpuClaims = cpu is { Verified: true } ? cpu : new SubmoduleEvidence(SubmoduleKind.Cpu, "none", new Dictionary<string, object>());
        foreach (var c in rule.Require)
        {
            var outcome = Appraiser.Test(ctx, c.Test, Appraiser.Lookup(ctx, cpuClaims, c.Test.Claim));
            if (!outcome.Passed)
            {
                explanations.Add(new Explanation("resource", c.Name, c.Test.Claim, Appraiser.OperatorText(c.Test.Operator), outcome.Expected, outcome.Actual,
                    c.Test.Source.ToString(), Severity.Contraindicated));
            }
        }

        return new ResourceDecision(explanations.Count == 0, resource, rule.AttestationPolicy, explanations);
    }

    public static ResourcePolicy Load(string path, IReferenceValueStore? store = null)
    {
        if (!System.IO.File.Exists(path))
        {
            throw new PolicyLoadException(new SourceLocation(path, 0), "resource policy file not found");
        }

        return Parse(System.IO.File.ReadAllText(path), path, store, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    public static ResourcePolicy Parse(string text, string file, IReferenceValueStore? store = null, string? baseDirectory = null)
    {
        var doc = PolicyYaml.Parse(text, file);
        doc.RequireHeader("ResourcePolicy");
        doc.AllowOnly(doc.Root, "document", "apiVersion", "kind", "metadata", "parameters", "referenceValues", "default", "resources");
        var values = new ValueParser(doc, PolicyLoader.ReadParameters(doc, null));
        var rvStore = PolicyLoader.ReadReferenceValues(doc, store, baseDirectory);
        var rules = new List<ResourceRule>();
        if (PolicyYaml.Get(doc.Root, "resources") is { } list)
        {
            foreach (var item in doc.Sequence(list, "resources").Children)
            {
                rules.Add(ReadRule(doc, values, doc.Mapping(item, "resource"), rvStore, requirePath: true));
            }
        }

        var fallback = PolicyYaml.Get(doc.Root, "default") is { } d ? ReadRule(doc, values, doc.Mapping(d, "default"), rvStore, requirePath: false) : null;
        return new ResourcePolicy(file, rules, fallback, rvStore);
    }

    private static ResourceRule ReadRule(PolicyYaml doc, ValueParser values, YamlDotNet.RepresentationModel.YamlMappingNode m, IReferenceValueStore store, bool requirePath)
    {
        doc.AllowOnly(m, "resource", "path", "attestationPolicy", "minimumStatus", "require");
        var path = requirePath ? doc.String(m, "path", "resource") : doc.OptionalString(m, "path", "default") ?? "*";
        if (path.Split('/') is not { Length: 3 } segments || segments.Any(s => s.Length == 0))
        {
            if (requirePath)
            {
                throw doc.Error(m, $"path '{path}' must be repository/type/tag ('*' matches one segment)");
            }
        }

        var policy = doc.OptionalString(m, "attestationPolicy", "resource") ?? DefaultPolicies.Strict;
        var min = doc.OptionalString(m, "minimumStatus", "resource") switch
        {
            null or "affirming" => EarStatus.Affirming,
            "warning" => EarStatus.Warning,
            var s => throw doc.Error(PolicyYaml.Get(m, "minimumStatus")!, $"minimumStatus '{s}' must be affirming or warning"),
        };
        var conditions = new List<ResourceCondition>();
        if (PolicyYaml.Get(m, "require") is { } req)
        {
            foreach (var item in doc.Sequence(req, "require").Children)
            {
                var cm = doc.Mapping(item, "condition");
                doc.AllowOnly(cm, "condition", [.. PolicyLoader.Operators.Keys, "name", "claim"]);
                var name = doc.String(cm, "name", "condition");
                conditions.Add(new ResourceCondition(name, PolicyLoader.ReadCondition(doc, values, cm, $"condition '{name}'", store, new SortedSet<string>(StringComparer.Ordinal))));
            }
        }

        return new ResourceRule(requirePath ? path : "*", policy, min, conditions, doc.At(m));
    }
}
