using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Tests;

/// <summary>Properties the model must keep on every platform and built-in workload.</summary>
public class PropertyTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var p in PlatformCatalog.All)
        {
            foreach (var w in WorkloadCatalog.SeedIds)
            {
                data.Add(p.Id, w);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cc_off_is_never_slower_than_cc_on(string platform, string workload)
    {
        var p = PlatformCatalog.Resolve(platform);
        var w = Shorten(WorkloadCatalog.Resolve(workload));
        foreach (var c in w.Concurrency)
        {
            foreach (var seed in new[] { 1, 2 })
            {
                var off = ScenarioRunner.Run(p, w, false, c, seed: seed);
                var on = ScenarioRunner.Run(p, w, true, c, seed: seed);
                Assert.True(off.MakespanMicros <= on.MakespanMicros, $"c={c} seed={seed}: off {off.MakespanMicros} > on {on.MakespanMicros}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_mitigation_never_makes_cc_off_slower(string platform, string workload)
    {
        var p = PlatformCatalog.Resolve(platform);
        var w = Shorten(WorkloadCatalog.Resolve(workload));
        foreach (var m in Mitigation.All.Where(m => m.AppliesTo(w)))
        {
            foreach (var c in w.Concurrency)
            {
                var plain = ScenarioRunner.Run(p, w, false, c).MakespanMicros;
                var mitigated = ScenarioRunner.Run(p, w, false, c, [m]).MakespanMicros;
                Assert.True(mitigated <= plain * (1 + 1e-9), $"{m.Id} c={c}: {mitigated} > {plain}");
            }
        }
    }

    [Fact]
    public void Cc_gated_mitigation_leaves_cc_off_unchanged_and_changes_cc_on()
    {
        var p = PlatformCatalog.Resolve("b300-tdx");
        var w = Shorten(WorkloadCatalog.Resolve("decode"));
        var sync = Mitigation.Resolve("sync-scheduling");
        Assert.True(sync.CcGated);
        Assert.Equal(ScenarioRunner.Run(p, w, false, 16).MakespanMicros, ScenarioRunner.Run(p, w, false, 16, [sync]).MakespanMicros);
        Assert.NotEqual(ScenarioRunner.Run(p, w, true, 16).MakespanMicros, ScenarioRunner.Run(p, w, true, 16, [sync]).MakespanMicros);

        // Applied without the gate, synchronous scheduling would cost CC-off its overlap: that is why it is gated.
        var ungated = ScenarioRunner.Run(p, sync.Apply(w), false, 16).MakespanMicros;
        Assert.True(ungated > ScenarioRunner.Run(p, w, false, 16).MakespanMicros);
    }

    [Fact]
    public void Same_seed_same_result_other_seed_other_result()
    {
        var p = PlatformCatalog.Resolve("h200-tdx");
        var w = WorkloadCatalog.Resolve("decode");
        Assert.True(w.Jitter > 0);
        var a = ScenarioRunner.Run(p, w, true, 16, seed: 42);
        var b = ScenarioRunner.Run(p, w, true, 16, seed: 42);
        var c = ScenarioRunner.Run(p, w, true, 16, seed: 43);
        Assert.Equal(a.MakespanMicros, b.MakespanMicros);
        Assert.Equal(a.Sim.Marks, b.Sim.Marks);
        Assert.NotEqual(a.MakespanMicros, c.MakespanMicros);
    }

    [Theory]
    [InlineData("b300-tdx", "decode", "drain-worker")]
    [InlineData("b300-tdx", "decode", "coalesce")]
    [InlineData("b300-tdx", "model-load", "large-chunks")]
    [InlineData("h100-snp", "offload", "numa-local")]
    [InlineData("h100-tdx", "kv-restore", "large-chunks")]
    public void Mitigations_shorten_cc_on(string platform, string workload, string mitigation)
    {
        var p = PlatformCatalog.Resolve(platform);
        var w = Shorten(WorkloadCatalog.Resolve(workload));
        var c = w.Concurrency[0];
        var on = ScenarioRunner.Run(p, w, true, c).MakespanMicros;
        var mitigated = ScenarioRunner.Run(p, w, true, c, [Mitigation.Resolve(mitigation)]).MakespanMicros;
        Assert.True(mitigated < on, $"{mitigated} !< {on}");
    }

    [Fact]
    public void Mitigation_that_does_not_apply_leaves_the_workload_alone()
    {
        var w = WorkloadCatalog.Resolve("kv-restore");
        var m = Mitigation.Resolve("sync-scheduling");
        Assert.False(m.AppliesTo(w));
        Assert.Same(w, m.Apply(w));
        Assert.Throws<BridgeInputException>(() => Mitigation.Resolve("turbo"));
    }

    /// <summary>Fewer steps, bytes and requests keep the property sweep fast; the structure is unchanged.</summary>
    internal static Workload Shorten(Workload w) => w switch
    {
        { Transfer: { } t } => w with { Transfer = t with { TotalBytes = Math.Min(t.TotalBytes, 256L << 20) } },
        { Requests: { } r } => w with
        {
            Requests = r with { Count = Math.Min(Math.Max(r.Count, 4), 12), PerConcurrency = 0, Output = r.Output with { Max = Math.Min(r.Output.Max, 96), Mean = Math.Min(r.Output.Mean, 48) } },
            Concurrency = [.. w.Concurrency.Take(2)],
        },
        _ => w with { Steps = Math.Min(w.Steps, 16) },
    };
}
