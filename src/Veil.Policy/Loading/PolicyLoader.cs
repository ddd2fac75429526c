using System.Text.RegularExpressions;
using Veil.Abi.Tee;
using Veil.Policy.Claims;
using Veil.Policy.Loading;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;
using YamlDotNet.RepresentationModel;

namespace Veil.Policy;

/// <summary>
/// Loads <c>kind: AttestationPolicy</c> documents (YAML or JSON). Everything that can be checked without
/// evidence is checked here — claim names, value types, operators per type, regexes, reference-set names,
/// parameters — and reported with file and line, so a policy that loads is one that means what it says.
/// </summary>
public static class PolicyLoader
{
    internal static readonly Dictionary<string, RuleOperator> Operators = new(StringComparer.Ordinal)
    {
        ["equals"] = RuleOperator.Equals,
        ["notEquals"] = RuleOperator.NotEquals,
        ["oneOf"] = RuleOperator.OneOf,
        ["gte"] = RuleOperator.GreaterOrEqual,
        ["gt"] = RuleOperator.Greater,
        ["lte"] = RuleOperator.LessOrEqual,
        ["lt"] = RuleOperator.Less,
        ["versionGte"] = RuleOperator.VersionAtLeast,
        ["versionLte"] = RuleOperator.VersionAtMost,
        ["matches"] = RuleOperator.Matches,
        ["inSet"] = RuleOperator.InSet,
        ["exists"] = RuleOperator.Exists,
    };

    private static readonly Dictionary<string, TrustComponent> Components = new(StringComparer.Ordinal)
    {
        ["instance-identity"] = TrustComponent.InstanceIdentity,
        ["configuration"] = TrustComponent.Configuration,
        ["executables"] = TrustComponent.Executables,
        ["file-system"] = TrustComponent.FileSystem,
        ["hardware"] = TrustComponent.Hardware,
        ["runtime-opaque"] = TrustComponent.RuntimeOpaque,
        ["storage-opaque"] = TrustComponent.StorageOpaque,
        ["sourced-data"] = TrustComponent.SourcedData,
    };

    private static readonly string[] KnownTees = [.. TeeNames.Verified.Order(StringComparer.Ordinal)];

    /// <summary>The <c>kind</c> of a Veil document (AttestationPolicy, ResourcePolicy, ReferenceValues), read without validating the rest.</summary>
    public static string KindOf(string text, string file)
    {
        var doc = PolicyYaml.Parse(text, file);
        return doc.String(doc.Root, "kind", "document");
    }

    /// <summary>Loads a policy file; reference-value files it lists are read relative to it.</summary>
    public static AttestationPolicy Load(string path, IReferenceValueStore? store = null, IReadOnlyDictionary<string, string>? parameters = null)
    {
        if (!File.Exists(path))
        {
            throw new PolicyLoadException(new SourceLocation(path, 0), "policy file not found");
        }

        return Parse(File.ReadAllText(path), path, store, parameters, Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    public static AttestationPolicy Parse(string text, string file, IReferenceValueStore? store = null, IReadOnlyDictionary<string, string>? parameters = null, string? baseDirectory = null)
    {
        var doc = PolicyYaml.Parse(text, file);
        doc.RequireHeader("AttestationPolicy");
        doc.AllowOnly(doc.Root, "document", "apiVersion", "kind", "metadata", "parameters", "referenceValues", "submodules");

        var name = Path.GetFileNameWithoutExtension(file);
        if (PolicyYaml.Get(doc.Root, "metadata") is { } meta)
        {
            var m = doc.Mapping(meta, "metadata");
            doc.AllowOnly(m, "metadata", "name", "description");
            name = doc.OptionalString(m, "name", "metadata") ?? name;
        }

        var declared = ReadParameters(doc, parameters);
        var values = new ValueParser(doc, declared);
        var rvStore = ReadReferenceValues(doc, store, baseDirectory);

        var submodulesNode = PolicyYaml.Get(doc.Root, "submodules") ?? throw doc.Error(doc.Root, "missing 'submodules' (cpu, gpu, switch)");
        var submodules = new Dictionary<SubmoduleKind, SubmodulePolicy>();
        var setsUsed = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (key, body) in doc.Mapping(submodulesNode, "submodules").Children)
        {
            var kindName = doc.Scalar(key, "submodule");
            var kind = kindName switch
            {
                "cpu" => SubmoduleKind.Cpu,
                "gpu" => SubmoduleKind.Gpu,
                "switch" => SubmoduleKind.Switch,
                _ => throw doc.Error(key, $"unknown submodule '{kindName}' (cpu, gpu or switch)"),
            };
            submodules[kind] = ReadSubmodule(doc, values, kind, kindName, doc.Mapping(body, kindName), rvStore, setsUsed);
        }

        if (submodules.Count == 0)
        {
            throw doc.Error(submodulesNode, "a policy needs at least one submodule");
        }

        return new AttestationPolicy(name, file, submodules, setsUsed.ToList(), rvStore);
    }

    internal static Dictionary<string, ParameterValue> ReadParameters(PolicyYaml doc, IReadOnlyDictionary<string, string>? supplied)
    {
        var declared = new Dictionary<string, ParameterValue>(StringComparer.Ordinal);
        if (PolicyYaml.Get(doc.Root, "parameters") is { } node)
        {
            foreach (var (key, value) in doc.Mapping(node, "parameters").Children)
            {
                var n = doc.Scalar(key, "parameter name");
                var v = value is YamlScalarNode { Value: { } text } s && !(PolicyYaml.IsPlain(s) && text is "~" or "null" or "")
                    ? text
                    : value is YamlScalarNode ? null : throw doc.Error(value, $"parameter '{n}' must be a single value or null (to be supplied)");
                declared[n] = new ParameterValue(n, v);
            }
        }

        foreach (var (n, v) in supplied ?? new Dictionary<string, string>())
        {
            if (!declared.ContainsKey(n))
            {
                throw new PolicyLoadException(new SourceLocation(doc.File, 1), $"parameter '{n}' is supplied but the policy does not declare it (declared: {string.Join(", ", declared.Keys)})");
            }

            declared[n] = new ParameterValue(n, v);
        }

        return declared;
    }

    internal static IReferenceValueStore ReadReferenceValues(PolicyYaml doc, IReferenceValueStore? external, string? baseDirectory)
    {
        if (PolicyYaml.Get(doc.Root, "referenceValues") is not { } node)
        {
            return external ?? new ReferenceValueStore();
        }

        var local = new ReferenceValueStore();
        foreach (var item in doc.Sequence(node, "referenceValues").Children)
        {
            var rel = doc.Scalar(item, "referenceValues entry (a file path)");
            var path = Path.IsPathRooted(rel) || baseDirectory is null ? rel : Path.Combine(baseDirectory, rel);
            if (!File.Exists(path))
            {
                throw doc.Error(item, $"reference-value file not found: {rel}");
            }

            local.AddAll(ReferenceValueFile.Load(path));
        }

        return external is null ? local : new CompositeReferenceValueStore(local, external);
    }

    private static SubmodulePolicy ReadSubmodule(PolicyYaml doc, ValueParser values, SubmoduleKind kind, string kindName, YamlMappingNode body, IReferenceValueStore store, SortedSet<string> setsUsed)
    {
        doc.AllowOnly(body, kindName, "accept", "minCount", "rules");
        var rules = new List<PolicyRule>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (PolicyYaml.Get(body, "rules") is { } rulesNode)
        {
            foreach (var item in doc.Sequence(rulesNode, $"{kindName}.rules").Children)
            {
                var rule = ReadRule(doc, values, doc.Mapping(item, "rule"), kindName, store, setsUsed);
                if (!names.Add(rule.Name))
                {
                    throw doc.Error(item, $"duplicate rule name '{rule.Name}' in {kindName}");
                }

                rules.Add(rule);
            }
        }

        var minCount = kind == SubmoduleKind.Cpu ? 1 : 0;
        if (PolicyYaml.Get(body, "minCount") is { } mc)
        {
            if (!int.TryParse(doc.Scalar(mc, "minCount"), out minCount) || minCount < 0)
            {
                throw doc.Error(mc, "minCount must be a non-negative integer");
            }
        }

        List<string> accepted;
        if (PolicyYaml.Get(body, "accept") is { } acc)
        {
            accepted = [];
            foreach (var t in doc.Sequence(acc, $"{kindName}.accept").Children)
            {
                var tee = doc.Scalar(t, "TEE name");
                if (!KnownTees.Contains(tee))
                {
                    throw doc.Error(t, $"unknown TEE '{tee}' (known: {string.Join(", ", KnownTees)})");
                }

                accepted.Add(tee);
            }
        }
        else
        {
            // By default a submodule accepts exactly the TEEs its rules speak about: evidence from any other
            // TEE would pass vacuously, so it is refused instead.
            accepted = rules.Select(r => ClaimCatalogue.TeeOf(r.Test.Claim)).Where(KnownTees.Contains).Distinct().ToList();
        }

        return new SubmodulePolicy(kind, accepted, minCount, rules, doc.At(body));
    }

    private static PolicyRule ReadRule(PolicyYaml doc, ValueParser values, YamlMappingNode m, string kindName, IReferenceValueStore store, SortedSet<string> setsUsed)
    {
        var context = $"{kindName} rule";
        doc.AllowOnly(m, context, [.. Operators.Keys, "name", "claim", "trust", "severity", "when", "ifPresent", "description"]);
        var name = doc.String(m, "name", context);
        var test = ReadCondition(doc, values, m, $"rule '{name}'", store, setsUsed);

        var trustText = doc.String(m, "trust", $"rule '{name}'");
        if (!Components.TryGetValue(trustText, out var trust))
        {
            throw doc.Error(PolicyYaml.Get(m, "trust")!, $"unknown trust component '{trustText}' (one of {string.Join(", ", Components.Keys)})");
        }

        var severity = Severity.Contraindicated;
        if (PolicyYaml.Get(m, "severity") is { } sev)
        {
            severity = doc.Scalar(sev, "severity") switch
            {
                "warning" => Severity.Warning,
                "contraindicated" => Severity.Contraindicated,
                var s => throw doc.Error(sev, $"severity '{s}' must be warning or contraindicated"),
            };
        }

        Condition? when = null;
        if (PolicyYaml.Get(m, "when") is { } w)
        {
            var wm = doc.Mapping(w, "when");
            doc.AllowOnly(wm, "when", [.. Operators.Keys, "claim"]);
            when = ReadCondition(doc, values, wm, $"rule '{name}' when", store, setsUsed);
        }

        var ifPresent = false;
        if (PolicyYaml.Get(m, "ifPresent") is { } ip && !(PolicyYaml.IsPlain(ip) && bool.TryParse(doc.Scalar(ip, "ifPresent"), out ifPresent)))
        {
            throw doc.Error(ip, "ifPresent must be true or false");
        }

        return new PolicyRule(name, test, trust, severity, when, ifPresent, doc.At(m));
    }

    internal static Condition ReadCondition(PolicyYaml doc, ValueParser values, YamlMappingNode m, string context, IReferenceValueStore store, SortedSet<string> setsUsed)
    {
        var claimNode = PolicyYaml.Get(m, "claim") ?? throw doc.Error(m, $"{context}: missing 'claim'");
        var claim = doc.Scalar(claimNode, "claim");
        var def = ClaimCatalogue.Find(claim) ?? throw doc.Error(claimNode, $"unknown claim '{claim}'{Suggest(claim)}");

        var ops = m.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).Where(Operators.ContainsKey).ToList();
        if (ops.Count != 1)
        {
            throw doc.Error(m, $"{context}: exactly one operator expected ({string.Join(", ", Operators.Keys)}), found {(ops.Count == 0 ? "none" : string.Join(", ", ops))}");
        }

        var opName = ops[0];
        var op = Operators[opName];
        var valueNode = PolicyYaml.Get(m, opName)!;
        CheckOperatorType(doc, valueNode, op, opName, def);
        var at = doc.At(m);
        switch (op)
        {
            case RuleOperator.OneOf:
                var list = doc.Sequence(valueNode, opName).Children.Select(n => values.Parse(n, def.Type, claim)).ToList();
                if (list.Count == 0)
                {
                    throw doc.Error(valueNode, "oneOf needs at least one value");
                }

                return new Condition(claim, op, null, list, null, null, at);
            case RuleOperator.Equals or RuleOperator.NotEquals when def.Type == ClaimType.StringList:
                var items = doc.Sequence(valueNode, opName).Children.Select(n => (object)doc.Scalar(n, "list item")).ToList();
                return new Condition(claim, op, null, items, null, null, at);
            case RuleOperator.Matches:
                var pattern = values.Text(valueNode, claim);
                try
                {
                    // Linear-time matching (RE2's guarantee, the engine OPA policies are written for): no pattern can
                    // make an appraisal slow, so no match timeout is needed. A wall-clock timeout was here before and
                    // fired on trivial matches whenever the appraising thread was descheduled for 100 ms on a loaded
                    // node, denying legitimate guests ("regex timed out"); fail-closed, but wrong.
                    var regex = new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking, Regex.InfiniteMatchTimeout);
                    return new Condition(claim, op, pattern, [], regex, null, at);
                }
                catch (ArgumentException e)
                {
                    throw doc.Error(valueNode, $"invalid regular expression: {e.Message}");
                }
                catch (NotSupportedException e)
                {
                    throw doc.Error(valueNode, NotLinear(e.Message));
                }

            case RuleOperator.InSet:
                var set = doc.Scalar(valueNode, "inSet");
                if (store.Find(set) is null)
                {
                    var known = store.Names;
                    throw doc.Error(valueNode, $"unknown reference set '{set}' (known: {(known.Count == 0 ? "none" : string.Join(", ", known))})");
                }

                setsUsed.Add(set);
                return new Condition(claim, op, set, [], null, set, at);
            case RuleOperator.Exists:
                var text = doc.Scalar(valueNode, "exists");
                if (!PolicyYaml.IsPlain(valueNode) || !bool.TryParse(text, out var exists))
                {
                    throw doc.Error(valueNode, "exists must be true or false");
                }

                return new Condition(claim, op, exists, [], null, null, at);
            case RuleOperator.VersionAtLeast or RuleOperator.VersionAtMost:
                var v = doc.Scalar(valueNode, opName);
                if (ClaimValues.ParseVersion(v) is null)
                {
                    throw doc.Error(valueNode, $"'{v}' is not a dotted version");
                }

                return new Condition(claim, op, v, [], null, null, at);
            default:
                return new Condition(claim, op, values.Parse(valueNode, def.Type, claim), [], null, null, at);
        }
    }

    private static void CheckOperatorType(PolicyYaml doc, YamlNode node, RuleOperator op, string opName, ClaimDefinition def)
    {
        var ok = op switch
        {
            RuleOperator.GreaterOrEqual or RuleOperator.Greater or RuleOperator.LessOrEqual or RuleOperator.Less => def.Type == ClaimType.Number,
            RuleOperator.VersionAtLeast or RuleOperator.VersionAtMost => def.Type is ClaimType.Version or ClaimType.Text,
            RuleOperator.Matches => def.Type is ClaimType.Text or ClaimType.Hex or ClaimType.Version,
            RuleOperator.InSet or RuleOperator.OneOf => def.Type != ClaimType.StringList,
            _ => true,
        };
        if (!ok)
        {
            throw doc.Error(node, $"operator '{opName}' does not apply to {def.Name}, which is of type {def.Type.ToString().ToLowerInvariant()}");
        }
    }

    private static string Suggest(string claim)
    {
        var best = ClaimCatalogue.All
            .Select(d => (d.Name, Distance: Levenshtein(d.Name, claim)))
            .OrderBy(x => x.Distance)
            .FirstOrDefault();
        return best.Name is not null && best.Distance <= 3 ? $" (did you mean '{best.Name}'?)" : "";
    }

    private static int Levenshtein(string a, string b)
    {
        var d = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            d[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            var prev = d[0];
            d[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var tmp = d[j];
                d[j] = Math.Min(Math.Min(d[j] + 1, d[j - 1] + 1), prev + (a[i - 1] == b[j - 1] ? 0 : 1));
                prev = tmp;
            }
        }

        return d[b.Length];
    }

    /// <summary>
    /// Why a pattern cannot be matched in linear time, in the policy author's terms: the construct .NET names in its
    /// refusal ("… containing: 'backreference (\ number)'."), or a pattern whose automaton would be too large (a
    /// counted repetition such as <c>(a{1000}){1000}</c>).
    /// </summary>
    private static string NotLinear(string message)
    {
        const string Marker = "containing: ";
        var at = message.IndexOf(Marker, StringComparison.Ordinal);
        return at >= 0
            ? $"regular expression uses {message[(at + Marker.Length)..].Trim().TrimEnd('.').Trim('\'')}, which linear-time matching does not support (nor backreferences, lookarounds, atomic groups or conditionals)"
            : "regular expression is too large for linear-time matching (its counted repetitions multiply out past the engine's limit of automaton nodes)";
    }
}
