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
internal sealed class BrokerPolicies : IDisposable
{
    public const string AttestationKind = "attestation";
    public const string ResourceKind = "resource";
    public const string ResourcePolicyId = "resource-policy";

    private readonly BrokerOptions _options;
    private readonly IBrokerStore _store;
    private readonly SwitchableClock _time;
    private readonly IReadOnlyList<ReferenceValueSet> _fileSets;
    private readonly (string Text, string Source)? _fileResourcePolicy;
    // One admin write at a time in this process: validate, store, apply, in that order (nothing is in effect that
    // the store does not hold). Replicas order their writes through the store's version counter.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Lock _gate = new();
    private volatile State _state = null!;

    /// <summary>What requests see: one engine and the inputs it was built from, swapped as a whole.</summary>
    private sealed record State(
        long Version,
        PolicyEngine Engine,
        IReadOnlyDictionary<string, string> Posted,
        (string Text, string Source)? ResourcePolicy,
        IReadOnlyList<ReferenceValueSet> PostedSets,
        IReadOnlyDictionary<string, string> TenantTexts,
        Dictionary<string, PolicyEngine> TenantEngines);

    private BrokerPolicies(BrokerOptions options, IBrokerStore store, TimeProvider time, IReadOnlyList<ReferenceValueSet> fileSets, (string Text, string Source)? fileResourcePolicy)
    {
        _options = options;
        _store = store;
        _time = new SwitchableClock(time);
        _fileSets = fileSets;
        _fileResourcePolicy = fileResourcePolicy;
    }

    public void Dispose() => _writeGate.Dispose();

    /// <summary>The attestation policy tokens are appraised with.</summary>
    public string DefaultPolicy => _options.Policy;

    public ResourcePolicy ResourcePolicy => _state.Engine.Resources;

    /// <summary>The configuration version in effect (the store's counter when it was read).</summary>
    public long Version => _state.Version;

    /// <summary>Reads files and stored state; any policy that does not load stops the broker from starting.</summary>
    public static async Task<BrokerPolicies> LoadAsync(BrokerOptions options, IBrokerStore store, TimeProvider time, CancellationToken ct)
    {
        try
        {
            var fileSets = options.ReferenceValuePaths.SelectMany(ReferenceValueFile.Load).ToList();
            (string, string)? fileResourcePolicy = null;
            if (options.ResourcePolicyPath is { } file)
            {
                fileResourcePolicy = (File.Exists(file) ? await File.ReadAllTextAsync(file, ct).ConfigureAwait(false) : throw new PolicyLoadException(new SourceLocation(file, 0), "resource policy file not found"), file);
            }

            var p = new BrokerPolicies(options, store, time, fileSets, fileResourcePolicy);
            p._state = p.FromSnapshot(await store.ReadPolicySnapshotAsync(ct).ConfigureAwait(false));
            return p;
        }
        catch (PolicyLoadException e)
        {
            // The loader's hint names the appraise CLI's --param; the broker's flag is --policy-param.
            throw new BrokerConfigurationException("policy: " + e.Message.Replace("--param ", "--policy-param ", StringComparison.Ordinal));
        }
    }

    public AppraisalResult Appraise(EvidenceSet evidence) => _state.Engine.Appraise(evidence, DefaultPolicy);

    /// <summary>
    /// The global resource policy decides first; when the resource's repository has a policy of its own, that one must
    /// allow too (<see cref="TenantResourcePolicies"/>). Without repository policies this is the global decision alone.
    /// </summary>
    public (ResourceDecision Decision, AppraisalResult? Appraisal) Decide(string resource, EvidenceSet evidence)
    {
        var state = _state;
        var global = state.Engine.Decide(resource, evidence);
        return global.Decision.Allowed && state.TenantEngines.TryGetValue(TenantResourcePolicies.RepositoryOf(resource), out var tenant)
            ? tenant.Decide(resource, evidence)
            : global;
    }

    /// <summary>The policy of one repository, or null when it has none (the global policy alone decides).</summary>
    public ResourcePolicy? TenantResourcePolicy(string repository) => _state.TenantEngines.TryGetValue(repository, out var e) ? e.Resources : null;

    /// <summary>Validates (its rules must stay inside the repository), stores and applies a repository's resource policy.</summary>
    public Task SetTenantResourcePolicyAsync(string repository, string text, DateTimeOffset at, CancellationToken ct) => WriteAsync(
        s => s with { TenantTexts = new Dictionary<string, string>(s.TenantTexts, StringComparer.Ordinal) { [repository] = text } },
        () => _store.PutPolicyAsync(ResourceKind, TenantResourcePolicies.Id(repository), text, at, ct), ct);

    /// <summary>Uses the host's clock (tests pin it) for reference-value expiry from now on; policies stay loaded.</summary>
    public void UseClock(TimeProvider time) => _time.Target = time;

    /// <summary>
    /// Validates, stores and applies a posted attestation policy; throws <see cref="PolicyLoadException"/> (nothing
    /// stored) when it cannot be used, <see cref="StoreUnavailableException"/> (nothing applied) when the store is away.
    /// </summary>
    public Task SetAttestationPolicyAsync(string id, string text, DateTimeOffset at, CancellationToken ct) => WriteAsync(
        s => s with { Posted = new Dictionary<string, string>(s.Posted, StringComparer.Ordinal) { [id] = text } },
        () => _store.PutPolicyAsync(AttestationKind, id, text, at, ct), ct);

    /// <summary>Validates (including every attestation policy it names), stores and applies a posted resource policy.</summary>
    public Task SetResourcePolicyAsync(string text, DateTimeOffset at, CancellationToken ct) => WriteAsync(
        s => s with { ResourcePolicy = (text, "posted resource policy") },
        () => _store.PutPolicyAsync(ResourceKind, ResourcePolicyId, text, at, ct), ct);

    /// <summary>Validates, stores and applies reference values (a Veil ReferenceValues document or the CoCo RVPS "sample" message).</summary>
    public async Task<IReadOnlyList<ReferenceValueSet>> AddReferenceValuesAsync(string body, DateTimeOffset at, CancellationToken ct)
    {
        var sets = ParseReferenceValues(body, at);
        // Policies check set names when they load: the rebuild makes a set posted now known to later uploads.
        await WriteAsync(s => s with { PostedSets = [.. s.PostedSets, .. sets] }, () => _store.PutReferenceValueAsync(body, at, ct), ct).ConfigureAwait(false);
        return sets;
    }

    /// <summary>
    /// Reloads from the store when it holds a newer configuration than the one in effect (another replica wrote
    /// it, or this one missed a notification); true when something changed.
    /// </summary>
    public async Task<bool> RefreshAsync(long? knownVersion, CancellationToken ct)
    {
        if (knownVersion is { } v && v <= _state.Version)
        {
            return false;
        }

        var snapshot = await _store.ReadPolicySnapshotAsync(ct).ConfigureAwait(false);
        if (snapshot.Version <= _state.Version)
        {
            return false;
        }

        State next;
        try
        {
            next = FromSnapshot(snapshot);
        }
        catch (PolicyLoadException)
        {
            // Every stored policy was validated before it was stored; one that no longer loads (e.g. a reference
            // value expired out from under it) keeps the configuration in effect rather than opening a gap.
            return false;
        }

        lock (_gate)
        {
            if (next.Version <= _state.Version)
            {
                return false;
            }

            _state = next;
            return true;
        }
    }

    private async Task WriteAsync(Func<State, State> change, Func<Task<long>> store, CancellationToken ct)
    {
        await _writeGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var current = _state;
            var candidate = change(current);
            var values = Values(candidate.PostedSets);
            candidate = candidate with
            {
                Engine = Build(candidate.Posted, candidate.ResourcePolicy, values),
                TenantEngines = BuildTenants(candidate.Posted, candidate.TenantTexts, values),
            };
            var version = await store().ConfigureAwait(false);
            var reload = false;
            lock (_gate)
            {
                // Ours is the next version: the candidate is exactly what the store holds. Otherwise another replica
                // wrote in between, and only a reload has both changes.
                if (version == _state.Version + 1 && ReferenceEquals(current, _state))
                {
                    _state = candidate with { Version = version };
                }
                else
                {
                    reload = true;
                }
            }

            if (reload)
            {
                await RefreshAsync(null, CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private State FromSnapshot(PolicySnapshot snapshot)
    {
        var posted = snapshot.AttestationPolicies.ToDictionary(p => p.Id, p => p.Body, StringComparer.Ordinal);
        var resource = snapshot.ResourcePolicies.FirstOrDefault(r => r.Id == ResourcePolicyId);
        (string Text, string Source)? resourcePolicy = resource.Body is not null ? (resource.Body, "posted resource policy") : _fileResourcePolicy;
        var sets = snapshot.ReferenceValues.SelectMany(r => ParseReferenceValues(r.Message, r.AddedAt)).ToList();
        var tenants = snapshot.ResourcePolicies.Where(r => TenantResourcePolicies.RepositoryOfId(r.Id) is not null)
            .ToDictionary(r => TenantResourcePolicies.RepositoryOfId(r.Id)!, r => r.Body, StringComparer.Ordinal);
        var values = Values(sets);
        return new State(snapshot.Version, Build(posted, resourcePolicy, values), posted, resourcePolicy, sets, tenants, BuildTenants(posted, tenants, values));
    }

    private Dictionary<string, PolicyEngine> BuildTenants(IReadOnlyDictionary<string, string> posted, IReadOnlyDictionary<string, string> texts, ReferenceValueStore values)
    {
        var engines = new Dictionary<string, PolicyEngine>(StringComparer.Ordinal);
        foreach (var (repository, text) in texts)
        {
            var resources = TenantResourcePolicies.Parse(repository, text, values);
            var engine = new PolicyEngine(resources, name => Load(name, posted, values), _time);
            foreach (var rule in resources.Rules.Append(resources.Default).OfType<ResourceRule>())
            {
                engine.Policy(rule.AttestationPolicy);
            }

            engines[repository] = engine;
        }

        return engines;
    }

    private ReferenceValueStore Values(IEnumerable<ReferenceValueSet> posted)
    {
        var values = new ReferenceValueStore();
        values.AddAll(_fileSets);
        values.AddAll(posted);
        return values;
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

    private PolicyEngine Build(IReadOnlyDictionary<string, string> posted, (string Text, string Source)? resourcePolicy, ReferenceValueStore values)
    {
        var resources = resourcePolicy is { } r
            ? ResourcePolicy.Parse(r.Text, r.Source, values)
            : ResourcePolicy.Parse(
                $"apiVersion: veil.dev/v1\nkind: ResourcePolicy\ndefault: {{attestationPolicy: {JsonSerializer.Serialize(_options.Policy)}}}\n",
                "built-in resource policy", values);
        var engine = new PolicyEngine(resources, name => Load(name, posted, values), _time);

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

    private AttestationPolicy Load(string name, IReadOnlyDictionary<string, string> posted, ReferenceValueStore values)
    {
        if (posted.TryGetValue(name, out var text))
        {
            return PolicyLoader.Parse(text, $"attestation-policy {name}", values);
        }

        var parameters = name == _options.Policy ? _options.PolicyParameters : null;
        if (DefaultPolicies.Text(name) is not null)
        {
            return DefaultPolicies.Load(name, values, parameters);
        }

        // Only the operator's own --policy file is read from disk; names in posted resource policies never are.
        if (name == _options.Policy)
        {
            return PolicyLoader.Load(name, values, parameters);
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
