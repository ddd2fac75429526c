using System.Globalization;
using System.Text.RegularExpressions;
using Veil.Policy.Claims;
using Veil.Policy.Model;

namespace Veil.Policy.Appraisal;

/// <summary>
/// Appraises an evidence set against a policy: every rule of the submodule's kind is applied to each
/// device of that kind; a failed rule worsens its trust-vector component and is explained. Fails closed:
/// unverified evidence, a TEE the policy does not accept, a missing required device and a missing claim
/// are all failures, never skipped.
/// </summary>
public static class Appraiser
{
    public static AppraisalResult Appraise(AttestationPolicy policy, EvidenceSet evidence, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(evidence);
        ArgumentNullException.ThrowIfNull(time);
        var now = time.GetUtcNow();
        var gpus = evidence.Submodules.Count(s => s.Kind == SubmoduleKind.Gpu);
        var switches = evidence.Submodules.Count(s => s.Kind == SubmoduleKind.Switch);
        var context = new Context(policy, now, gpus, switches, evidence.InitData, evidence.Submodules.Count(s => s.Kind == SubmoduleKind.Cpu));

        var results = new List<SubmoduleAppraisal>();
        var index = new Dictionary<SubmoduleKind, int>();
        foreach (var sub in evidence.Submodules)
        {
            var n = index.GetValueOrDefault(sub.Kind);
            index[sub.Kind] = n + 1;
            var name = KindName(sub.Kind) + n.ToString(CultureInfo.InvariantCulture);
            results.Add(AppraiseOne(context, name, sub));
        }

        foreach (var (kind, sp) in policy.Submodules)
        {
            var present = index.GetValueOrDefault(kind);
            if (present < sp.MinCount)
            {
                var vector = new TrustVector();
                vector.Worsen(TrustComponent.InstanceIdentity, TrustVector.Contraindicated);
                var countClaim = kind switch { SubmoduleKind.Gpu => "veil.gpu_count", SubmoduleKind.Switch => "veil.switch_count", _ => "veil.cpu_count" };
                results.Add(new SubmoduleAppraisal(KindName(kind), "none", EarStatus.Contraindicated, vector,
                [
                    new Explanation(KindName(kind), "minCount", countClaim, "gte", ">= " + sp.MinCount.ToString(CultureInfo.InvariantCulture),
                        present.ToString(CultureInfo.InvariantCulture), (sp.Source ?? new SourceLocation(policy.File, 0)).ToString(), Severity.Contraindicated),
                ]));
            }
        }

        return new AppraisalResult(policy.Id, Overall(results), results);
    }

    private static SubmoduleAppraisal AppraiseOne(Context ctx, string name, SubmoduleEvidence sub)
    {
        var vector = new TrustVector();
        var explanations = new List<Explanation>();
        if (!sub.Verified)
        {
            vector.Worsen(TrustComponent.InstanceIdentity, TrustVector.CryptoFailed);
            explanations.Add(new Explanation(name, "verified", $"{sub.Tee}.verification", "==", "verified",
                sub.Failures is { Count: > 0 } f ? string.Join("; ", f) : "not verified", "verifier", Severity.Contraindicated));
            return new SubmoduleAppraisal(name, sub.Tee, EarStatus.Contraindicated, vector, explanations);
        }

        if (!ctx.Policy.Submodules.TryGetValue(sub.Kind, out var sp))
        {
            // The policy says nothing about this kind of device: no claim is made either way.
            return new SubmoduleAppraisal(name, sub.Tee, EarStatus.None, vector, explanations);
        }

        if (!sp.AcceptedTees.Contains(sub.Tee, StringComparer.Ordinal))
        {
            vector.Worsen(TrustComponent.InstanceIdentity, TrustVector.Contraindicated);
            explanations.Add(new Explanation(name, "accept", "tee", "oneOf", "one of [" + string.Join(", ", sp.AcceptedTees) + "]", sub.Tee,
                ctx.Policy.File, Severity.Contraindicated));
            return new SubmoduleAppraisal(name, sub.Tee, EarStatus.Contraindicated, vector, explanations);
        }

        foreach (var rule in sp.Rules)
        {
            var tee = ClaimCatalogue.TeeOf(rule.Test.Claim);
            if (!ClaimCatalogue.Carries(sub.Tee, tee) && tee is not ("veil" or "init_data"))
            {
                continue; // A rule about another TEE's claims (e.g. tdx.* for SNP evidence).
            }

            if (rule.When is { } when && !Test(ctx, when, Lookup(ctx, sub, when.Claim)).Passed)
            {
                continue;
            }

            var actual = Lookup(ctx, sub, rule.Test.Claim);
            if (actual is null && rule.IfPresent)
            {
                continue;
            }

            var outcome = Test(ctx, rule.Test, actual);
            if (outcome.Passed)
            {
                vector.Worsen(rule.Trust, TrustVector.Affirming);
                continue;
            }

            vector.Worsen(rule.Trust, rule.Severity == Severity.Warning ? TrustVector.Warning : TrustVector.Contraindicated);
            explanations.Add(new Explanation(name, rule.Name, rule.Test.Claim, OperatorText(rule.Test.Operator), outcome.Expected, outcome.Actual,
                rule.Source.ToString(), rule.Severity));
        }

        return new SubmoduleAppraisal(name, sub.Tee, vector.Status(), vector, explanations);
    }

    internal static object? Lookup(Context ctx, SubmoduleEvidence sub, string claim)
    {
        if (sub.Claims.TryGetValue(claim, out var v))
        {
            return v;
        }

        return claim switch
        {
            "veil.cpu_count" => (long)ctx.Cpus,
            "veil.gpu_count" => (long)ctx.Gpus,
            "veil.switch_count" => (long)ctx.Switches,
            _ when claim.StartsWith("init_data.", StringComparison.Ordinal) && ctx.InitData is { } d && d.TryGetValue(claim["init_data.".Length..], out var s) => s,
            _ => null,
        };
    }

    internal readonly record struct Outcome(bool Passed, string Expected, string Actual);

    internal static Outcome Test(Context ctx, Condition c, object? raw)
    {
        var type = ClaimCatalogue.Find(c.Claim)!.Type;
        var expectedText = ExpectedText(c);
        if (c.Operator == RuleOperator.Exists)
        {
            return new((raw is not null) == (bool)c.Expected!, (bool)c.Expected! ? "present" : "absent", raw is null ? "absent" : "present");
        }

        if (raw is null)
        {
            return new(false, expectedText, "absent");
        }

        var actual = ClaimValues.Coerce(raw, type);
        if (actual is null)
        {
            return new(false, expectedText, $"{ClaimValues.Format(raw)} (not a {type.ToString().ToLowerInvariant()})");
        }

        var actualText = ClaimValues.Format(actual);
        switch (c.Operator)
        {
            case RuleOperator.Equals:
                return new(Equal(actual, c, type), expectedText, actualText);
            case RuleOperator.NotEquals:
                return new(!Equal(actual, c, type), expectedText, actualText);
            case RuleOperator.OneOf:
                return new(c.ExpectedList.Any(e => ClaimValues.AreEqual(actual, e, type)), expectedText, actualText);
            case RuleOperator.GreaterOrEqual:
                return new((long)actual >= (long)c.Expected!, expectedText, actualText);
            case RuleOperator.Greater:
                return new((long)actual > (long)c.Expected!, expectedText, actualText);
            case RuleOperator.LessOrEqual:
                return new((long)actual <= (long)c.Expected!, expectedText, actualText);
            case RuleOperator.Less:
                return new((long)actual < (long)c.Expected!, expectedText, actualText);
            case RuleOperator.VersionAtLeast or RuleOperator.VersionAtMost:
                var cmp = ClaimValues.CompareVersionText((string)actual, (string)c.Expected!);
                if (cmp is null)
                {
                    return new(false, expectedText, $"{actualText} (not a dotted version)");
                }

                return new(c.Operator == RuleOperator.VersionAtLeast ? cmp >= 0 : cmp <= 0, expectedText, actualText);
            case RuleOperator.Matches:
                return new(c.Pattern!.IsMatch((string)actual), expectedText, actualText); // linear time, no timeout (PolicyLoader)

            case RuleOperator.InSet:
                return InSet(ctx, c, actual, type, expectedText, actualText);
            default:
                return new(false, expectedText, actualText);
        }
    }

    private static bool Equal(object actual, Condition c, ClaimType type) =>
        type == ClaimType.StringList ? ClaimValues.AreEqual(actual, c.ExpectedList, type) : ClaimValues.AreEqual(actual, c.Expected!, type);

    private static Outcome InSet(Context ctx, Condition c, object actual, ClaimType type, string expectedText, string actualText)
    {
        var set = ctx.Policy.ReferenceValues.Find(c.SetName!);
        if (set is null)
        {
            return new(false, expectedText, $"{actualText} (reference set '{c.SetName}' is no longer available)");
        }

        var text = actual is string s ? s : ClaimValues.Format(actual);
        var comparer = type == ClaimType.Hex ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var expired = default(Veil.Policy.ReferenceValues.ReferenceValue);
        foreach (var v in set.Values)
        {
            var value = type == ClaimType.Hex ? Loading.ValueParser.NormalizeHex(v.Value) : v.Value;
            if (!comparer.Equals(value, text))
            {
                continue;
            }

            if (!v.IsExpiredAt(ctx.Now))
            {
                return new(true, expectedText, actualText);
            }

            expired = v;
        }

        return expired is null
            ? new(false, expectedText, actualText)
            : new(false, expectedText, $"{actualText} (matches an expired value: expired {expired.Expires!.Value.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}, provenance '{expired.Provenance}')");
    }

    private static string ExpectedText(Condition c) => c.Operator switch
    {
        RuleOperator.Equals => ClaimValues.Format(c.Expected ?? c.ExpectedList.Select(ClaimValues.Format).ToList()),
        RuleOperator.NotEquals => "not " + ClaimValues.Format(c.Expected ?? c.ExpectedList.Select(ClaimValues.Format).ToList()),
        RuleOperator.OneOf => "one of [" + string.Join(", ", c.ExpectedList.Select(ClaimValues.Format)) + "]",
        RuleOperator.GreaterOrEqual => ">= " + ClaimValues.Format(c.Expected),
        RuleOperator.Greater => "> " + ClaimValues.Format(c.Expected),
        RuleOperator.LessOrEqual => "<= " + ClaimValues.Format(c.Expected),
        RuleOperator.Less => "< " + ClaimValues.Format(c.Expected),
        RuleOperator.VersionAtLeast => "version >= " + c.Expected,
        RuleOperator.VersionAtMost => "version <= " + c.Expected,
        RuleOperator.Matches => "match of /" + c.Expected + "/",
        RuleOperator.InSet => $"a value in reference set '{c.SetName}'",
        _ => ClaimValues.Format(c.Expected),
    };

    internal static string OperatorText(RuleOperator op) => op switch
    {
        RuleOperator.Equals => "equals",
        RuleOperator.NotEquals => "notEquals",
        RuleOperator.OneOf => "oneOf",
        RuleOperator.GreaterOrEqual => "gte",
        RuleOperator.Greater => "gt",
        RuleOperator.LessOrEqual => "lte",
        RuleOperator.Less => "lt",
        RuleOperator.VersionAtLeast => "versionGte",
        RuleOperator.VersionAtMost => "versionLte",
        RuleOperator.Matches => "matches",
        RuleOperator.InSet => "inSet",
        _ => "exists",
    };

    private static EarStatus Overall(List<SubmoduleAppraisal> results)
    {
        if (results.Count == 0)
        {
            return EarStatus.None;
        }

        return results.Max(r => r.Status);
    }

    private static string KindName(SubmoduleKind k) => k switch
    {
        SubmoduleKind.Cpu => "cpu",
        SubmoduleKind.Gpu => "gpu",
        _ => "switch",
    };

    internal sealed record Context(AttestationPolicy Policy, DateTimeOffset Now, int Gpus, int Switches, IReadOnlyDictionary<string, string>? InitData, int Cpus = 0);
}
