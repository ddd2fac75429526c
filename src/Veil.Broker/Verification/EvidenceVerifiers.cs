namespace Veil.Broker.Verification;

/// <summary>Why a TEE is refused before any evidence is looked at.</summary>
internal sealed record TeeRefusal(string Kind, string Detail);

/// <summary>Dispatch by <c>tee</c>: a verifier, or a refusal that says why (unknown, not supported, sample not allowed).</summary>
internal sealed class EvidenceVerifiers
{
    private readonly Dictionary<string, IEvidenceVerifier> _byTee;
    private readonly bool _allowSample;
    private readonly IReadOnlyDictionary<string, string> _unavailable;

    /// <param name="unavailable">Why a TEE the broker could verify is off here (e.g. tdx without Intel collateral).</param>
    public EvidenceVerifiers(IEnumerable<IEvidenceVerifier> verifiers, bool allowSample, IReadOnlyDictionary<string, string>? unavailable = null)
    {
        _byTee = verifiers.ToDictionary(v => v.Tee, StringComparer.Ordinal);
        _allowSample = allowSample;
        _unavailable = unavailable ?? new Dictionary<string, string>();
    }

    public TeeRefusal? Check(string tee)
    {
        if (!TeeNames.Known.Contains(tee))
        {
            return new("UnknownTee", $"unknown TEE '{Problems.CallerText.Echo(tee)}' (known: {string.Join(", ", TeeNames.Known.Order(StringComparer.Ordinal))})");
        }

        if (tee == TeeNames.Sample && !_allowSample)
        {
            return new("SampleNotAllowed", "the sample TEE is refused: it proves nothing; start the broker with --allow-sample for testing only");
        }

        if (!_byTee.ContainsKey(tee) && _unavailable.TryGetValue(tee, out var why))
        {
            return new("TeeNotSupported", why);
        }

        if (!_byTee.ContainsKey(tee))
        {
            return new("TeeNotSupported", $"TEE not supported: '{Problems.CallerText.Echo(tee)}' has no verifier in this broker yet (supported: {string.Join(", ", _byTee.Keys.Where(k => k != TeeNames.Sample || _allowSample).Order(StringComparer.Ordinal))})");
        }

        return null;
    }

    public IEvidenceVerifier Get(string tee) => _byTee[tee];
}
