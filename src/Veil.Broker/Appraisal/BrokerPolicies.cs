using System.Text.Json;
using Veil.Broker.Hosting;
using Veil.Broker.Storage;
using Veil.Policy;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Policy.ReferenceValues;
using Veil.Policy.Resources;

namespace Veil.Broker.Appraisal;

/// <summary>
/// The broker's policy state: attestation policies (shipped, the operator's <c>--policy</c> file, and those posted
/// to the admin API), the resource policy (posted, else <c>--resource-policy</c>, else "every resource needs the
/// broker's policy, affirming") and the reference values (files plus posted documents). Every change is
/// validated in full before it replaces the current <see cref="PolicyEngine"/>, so a wrong policy is refused with
/// its file and line and never half-applied; requests always see one consistent snapshot.
/// </summary>
internal sealed class BrokerPolicies
{
    public const string AttestationKind = "attestation";
    public const string ResourceKind = "resource";
    public const string ResourcePolicyId = "resource-policy";

    private readonly BrokerOptions _options;
    private readonly SwitchableClock _time;
    private readonly ReferenceValueStore _values = new();
    private readonly Lock _gate = new();
    private Dictionary<string, string> _posted = new(StringComparer.Ordinal);
    private (string Text, string Source)? _resourcePolicy;
    private volatile PolicyEngine _engine;

    private BrokerPolicies(BrokerOptions options, TimeProvider time)
    {
        _options = options;
        _time = new SwitchableClock(time);
        _engine = null!;
    }

    /// <summary>The attestation policy tokens are appraised with.</summary>
    public string DefaultPolicy => _options.Policy;

    public ResourcePolicy ResourcePolicy => _engine.Resources;

    /// <summary>Reads files and stored state; any policy that does not load stops the broker from starting.</summary>
    public static async Task<BrokerPolicies> LoadAsync(BrokerOptions options, IBrokerStore store, TimeProvider time, CancellationToken ct)
    {
        var p = new BrokerPolicies(options, time);
        try
        {
            foreach (var path in options.ReferenceValuePaths)
            {
                p._values.AddAll(ReferenceValueFile.Load(path));
            }

            foreach (var (message, at) in await store.ListReferenceValuesAsync(ct).ConfigureAwait(false))
            {
                p._values.AddAll(ParseReferenceValues(message, at));
            }

            foreach (var (id, body) in await store.ListPoliciesAsync(AttestationKind, ct).ConfigureAwait(false))
            {
                p._posted[id] = body;
            }

            var resource = (await store.ListPoliciesAsync(ResourceKind, ct).ConfigureAwait(false)).FirstOrDefault(r => r.Id == ResourcePolicyId);
            if (resource.Body is not null)
            {
                p._resourcePolicy = (resource.Body, "posted resource policy");
            }
            else if (options.ResourcePolicyPath is { } file)
            {
                p._resourcePolicy = (File.Exists(file) ? await File.ReadAllTextAsync(file, ct).ConfigureAwait(false) : throw new PolicyLoadException(new SourceLocation(file, 0), "resource policy file not found"), file);
            }

            p._engine = p.Build(p._posted, p._resourcePolicy);
        }
        catch (PolicyLoadException e)
        {
            // The loader's hint names the appraise CLI's --param; the broker's flag is --policy-param.
            throw new BrokerConfigurationException("policy: " + e.Message.Replace("--param ", "--policy-param ", StringComparison.Ordinal));
        }

        return p;
    }

    public AppraisalResult Appraise(EvidenceSet evidence) => _engine.Appraise(evidence, DefaultPolicy);

    public (ResourceDecision Decision, AppraisalResult? Appraisal) Decide(string resource, EvidenceSet evidence) => _engine.Decide(resource, evidence);

    /// <summary>Uses the host's clock (tests pin it) for reference-value expiry from now on; policies stay loaded.</summary>
    public void UseClock(TimeProvider time) => _time.Target = time;

    /// <summary>Validates and applies a posted attestation policy; throws <see cref="PolicyLoadException"/> when it cannot be used.</summary>
    public void SetAttestationPolicy(string id, string text)
    {
        lock (_gate)
        {
            var posted = new Dictionary<string, string>(_posted, StringComparer.Ordinal) { [id] = text };
            _engine = Build(posted, _resourcePolicy);
            _posted = posted;
        }
    }

    /// <summary>Validates (including every attestation policy it names) and applies a posted resource policy.</summary>
    public void SetResourcePolicy(string text)
    {
        lock (_gate)
        {
            var candidate = (text, "posted resource policy");
            _engine = Build(_posted, candidate);
            _resourcePolicy = candidate;
        }
    }

    /// <summary>Adds reference values (a Veil ReferenceValues document or the CoCo RVPS "sample" message).</summary>
    public IReadOnlyList<ReferenceValueSet> AddReferenceValues(string body, DateTimeOffset at)
    {
        var sets = ParseReferenceValues(body, at);
        lock (_gate)
        {
            _values.AddAll(sets);
            // Policies check set names when they load: rebuild so that a set posted now is known to later uploads.
            _engine = Build(_posted, _resourcePolicy);
        }

        return sets;
    }

    /// <summary>
    /// Reads either message shape the reference-value endpoint takes. The RVPS message carries no provenance of its
    /// own: it is recorded as "posted to the broker at &lt;time&gt;".
    /// </summary>
    public static IReadOnlyList<ReferenceValueSet> ParseReferenceValues(string body, DateTimeOffset at)
    {
        if (IsRvpsMessage(body))
        {
            return ReferenceValueFile.ParseSampleMessage(body, $"RVPS sample message posted to the broker at {at:O}");
        }

        return ReferenceValueFile.Parse(body, "reference-value document");
    }

    private static bool IsRvpsMessage(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("payload", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private PolicyEngine Build(IReadOnlyDictionary<string, string> posted, (string Text, string Source)? resourcePolicy)
    {
        var resources = resourcePolicy is { } r
            ? ResourcePolicy.Parse(r.Text, r.Source, _values)
            : ResourcePolicy.Parse(
                $"apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {{attestationPolicy: {JsonSerializer.Serialize(_options.Policy)}}}\n",
                "built-in resource policy", _values);
        var engine = new PolicyEngine(resources, name => Load(name, posted), _time);

        // Load everything now: a policy that cannot be used must be refused here, not on the first attestation.
        engine.Policy(_options.Policy);
        foreach (var id in posted.Keys)
        {
            engine.Policy(id);
        }

        foreach (var rule in resources.Rules.Append(resources.Default).OfType<ResourceRule>())
        {
            engine.Policy(rule.AttestationPolicy);
        }

        return engine;
    }

    private AttestationPolicy Load(string name, IReadOnlyDictionary<string, string> posted)
    {
        if (posted.TryGetValue(name, out var text))
        {
            return PolicyLoader.Parse(text, $"attestation-policy {name}", _values);
        }

        var parameters = name == _options.Policy ? _options.PolicyParameters : null;
        if (DefaultPolicies.Text(name) is not null)
        {
            return DefaultPolicies.Load(name, _values, parameters);
        }

        // Only the operator's own --policy file is read from disk; names in posted resource policies never are.
        if (name == _options.Policy)
        {
            return PolicyLoader.Load(name, _values, parameters);
        }

        throw new PolicyLoadException(new SourceLocation("resource policy", 0),
            $"attestation policy '{name}' is unknown (known: {string.Join(", ", DefaultPolicies.Names.Concat(posted.Keys).Append(_options.Policy).Distinct().Order(StringComparer.Ordinal))})");
    }
}

/// <summary>
/// The policies are loaded before the host's services exist; appraisal reads the time through this, so the host's
/// clock can be put in afterwards without loading every policy again.
/// </summary>
internal sealed class SwitchableClock(TimeProvider target) : TimeProvider
{
    public TimeProvider Target { get; set; } = target;

    public override DateTimeOffset GetUtcNow() => Target.GetUtcNow();
}
