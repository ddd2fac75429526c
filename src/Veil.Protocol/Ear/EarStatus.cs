namespace Veil.Protocol.Ear;

/// <summary>EAR appraisal status (draft-ietf-rats-ear §3.1), by AR4SI tier.</summary>
public static class EarStatus
{
    public const string None = "none";
    public const string Affirming = "affirming";
    public const string Warning = "warning";
    public const string Contraindicated = "contraindicated";

    /// <summary>The status a trust-vector claim value falls in (AR4SI tiers: 2–31, 32–95, 96–127; 0 none).</summary>
    public static string OfClaim(int value)
    {
        var v = Math.Abs(value);
        return v switch
        {
            0 or 1 => None,
            <= 31 => Affirming,
            <= 95 => Warning,
            _ => Contraindicated,
        };
    }

    /// <summary>The worst tier over all claims; all none gives none.</summary>
    public static string OfVector(IReadOnlyDictionary<string, int> vector)
    {
        var rank = 0;
        foreach (var v in vector.Values)
        {
            rank = Math.Max(rank, Rank(OfClaim(v)));
        }

        return rank switch
        {
            1 => Affirming,
            2 => Warning,
            3 => Contraindicated,
            _ => None,
        };
    }

    private static int Rank(string status) => status switch
    {
        Affirming => 1,
        Warning => 2,
        Contraindicated => 3,
        _ => 0,
    };
}
