using Veil.Policy.Model;

namespace Veil.Policy.Appraisal;

/// <summary>EAR status tiers (draft-ietf-rats-ear), from best to worst.</summary>
public enum EarStatus
{
    Affirming,
    None,
    Warning,
    Contraindicated,
}

/// <summary>
/// One failed rule: which rule, over which claim, with what operator, the expected and the actual value and
/// where the rule is written. Printed as <c>snp.policy.debug: expected false, actual true</c>.
/// </summary>
public sealed record Explanation(string Submodule, string Rule, string Claim, string Operator, string Expected, string Actual, string Source, Severity Severity)
{
    public override string ToString() => $"{Claim}: expected {Expected}, actual {Actual}";
}

/// <summary>The AR4SI trust vector of a submodule: one value per component (0 = no claim made).</summary>
public sealed class TrustVector
{
    /// <summary>AR4SI value for "affirming" in every component (e.g. approved configuration, genuine hardware).</summary>
    public const int Affirming = 2;

    /// <summary>AR4SI warning tier value used for failed warning rules (e.g. unsafe configuration).</summary>
    public const int Warning = 32;

    /// <summary>AR4SI contraindicated tier value used for failed contraindicated rules.</summary>
    public const int Contraindicated = 96;

    /// <summary>AR4SI instance-identity value "cryptographic validation of the evidence failed".</summary>
    public const int CryptoFailed = 99;

    private readonly int[] _values = new int[8];

    public int this[TrustComponent c]
    {
        get => _values[(int)c];
        internal set => _values[(int)c] = value;
    }

    /// <summary>Components in AR4SI order with their claim names as in EAR JSON.</summary>
    public IEnumerable<(string Name, int Value)> Entries =>
        Enum.GetValues<TrustComponent>().Select(c => (Name(c), _values[(int)c]));

    public static string Name(TrustComponent c) => c switch
    {
        TrustComponent.InstanceIdentity => "instance-identity",
        TrustComponent.Configuration => "configuration",
        TrustComponent.Executables => "executables",
        TrustComponent.FileSystem => "file-system",
        TrustComponent.Hardware => "hardware",
        TrustComponent.RuntimeOpaque => "runtime-opaque",
        TrustComponent.StorageOpaque => "storage-opaque",
        _ => "sourced-data",
    };

    /// <summary>Raises a component to a worse value (values only ever get worse during appraisal).</summary>
    internal void Worsen(TrustComponent c, int value)
    {
        var current = _values[(int)c];
        if (Tier(value) > Tier(current) || (Tier(value) == Tier(current) && value > current))
        {
            _values[(int)c] = value;
        }
    }

    /// <summary>The EAR status the vector implies (AR4SI tiers: 2-31 affirming, 32-95 warning, 96-127 contraindicated).</summary>
    public EarStatus Status()
    {
        var worst = _values.Max(Tier);
        return worst switch
        {
            3 => EarStatus.Contraindicated,
            2 => EarStatus.Warning,
            1 => EarStatus.Affirming,
            _ => EarStatus.None,
        };
    }

    private static int Tier(int v) => v switch
    {
        >= 96 or <= -96 => 3,
        >= 32 or <= -32 => 2,
        >= 2 or <= -2 => 1,
        _ => 0,
    };
}

/// <summary>The appraisal of one submodule (cpu0, gpu3, switch1, ...).</summary>
public sealed record SubmoduleAppraisal(string Name, string Tee, EarStatus Status, TrustVector TrustVector, IReadOnlyList<Explanation> Explanations);

/// <summary>The result of appraising an evidence set against a policy.</summary>
public sealed record AppraisalResult(string PolicyId, EarStatus Status, IReadOnlyList<SubmoduleAppraisal> Submodules)
{
    /// <summary>Every failed rule of every submodule.</summary>
    public IReadOnlyList<Explanation> Explanations => Submodules.SelectMany(s => s.Explanations).ToList();

    public bool IsAffirming => Status == EarStatus.Affirming;

    public static string StatusName(EarStatus s) => s switch
    {
        EarStatus.Affirming => "affirming",
        EarStatus.Warning => "warning",
        EarStatus.Contraindicated => "contraindicated",
        _ => "none",
    };
}
