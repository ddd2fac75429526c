namespace Veil.Broker.Soak;

/// <summary>What one soak run saw.</summary>
internal sealed record SoakReport(
    long IdleRssBytes,
    long PeakRssBytes,
    long DbBytesBefore,
    long DbBytesAfter,
    int LegitimateOk,
    int LegitimateFailed,
    IReadOnlyList<double> LegitimateMs,
    IReadOnlyList<double> IdleMs,
    IReadOnlyDictionary<string, long> RssAtPhaseEnd,
    IReadOnlyDictionary<string, IReadOnlyList<double>> LegitimateMsByAttack,
    IReadOnlyDictionary<string, IReadOnlyDictionary<int, int>> StatusesByAttack,
    IReadOnlyList<string> Failures)
{
    public long RssGrowth => PeakRssBytes - IdleRssBytes;

    public long DbGrowth => DbBytesAfter - DbBytesBefore;

    public int ServerErrors => StatusesByAttack.Values.Sum(s => s.Where(kv => kv.Key >= 500).Sum(kv => kv.Value));

    /// <summary>The p-quantile of the legitimate handshakes' latency during the attacks.</summary>
    public double Percentile(double p) => Quantile(LegitimateMs, p);

    /// <summary>The same for the handshakes of the idle phase before the attacks: the run's own reference.</summary>
    public double IdlePercentile(double p) => Quantile(IdleMs, p);

    /// <summary>key=value lines for ./bench/run broker-soak.</summary>
    public string Figures() => string.Join("\n",
        FormattableString.Invariant($"idle_p99_ms={IdlePercentile(0.99):0.00}"),
        FormattableString.Invariant($"attack_p50_ms={Percentile(0.5):0.00}"),
        FormattableString.Invariant($"attack_p99_ms={Percentile(0.99):0.00}"),
        FormattableString.Invariant($"legitimate_ok={LegitimateOk}"),
        FormattableString.Invariant($"legitimate_failed={LegitimateFailed}"),
        FormattableString.Invariant($"rss_growth_mib={RssGrowth / 1048576.0:0.0}"),
        FormattableString.Invariant($"db_growth_kib={DbGrowth / 1024}"),
        FormattableString.Invariant($"server_errors={ServerErrors}"));

    private static double Quantile(IReadOnlyList<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        var sorted = samples.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    public string Describe() => string.Join("\n", StatusesByAttack.Select(a => $"{a.Key}: " + string.Join(" ", a.Value.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}x{kv.Value}"))))
        + $"\nlegitimate handshakes: {LegitimateOk} ok, {LegitimateFailed} failed; p50 {Percentile(0.5):0.0} ms, p99 {Percentile(0.99):0.0} ms (idle before the attacks: {IdleMs.Count} handshakes, p99 {IdlePercentile(0.99):0.0} ms)"
        + "\nlegitimate p99 by attack: " + string.Join(", ", LegitimateMsByAttack.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} {Quantile(a.Value, 0.99):0.0} ms ({a.Value.Count})"))
        + $"\nRSS idle {IdleRssBytes / 1048576.0:0.0} MiB, peak {PeakRssBytes / 1048576.0:0.0} MiB (+{RssGrowth / 1048576.0:0.0}); database {DbBytesBefore / 1024} KiB -> {DbBytesAfter / 1024} KiB"
        + "\nRSS at the end of each phase (MiB, in order): " + string.Join(", ", new[] { "idle" }.Concat(BrokerSoak.Attacks).Where(RssAtPhaseEnd.ContainsKey).Select(a => $"{a} {RssAtPhaseEnd[a] / 1048576.0:0.0}"))
        + (Failures.Count == 0 ? "" : "\nfailures: " + string.Join("; ", Failures.Take(5)));
}
