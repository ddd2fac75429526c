using Veil.Bridge.Engine;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>One simulated run and what it delivered.</summary>
/// <param name="Units">Tokens generated (serving) or bytes moved (transfer).</param>
/// <param name="Serving">Per-request results of a request-mix run; null otherwise.</param>
internal sealed record RunOutcome(string Platform, string Workload, bool Cc, int Concurrency, IReadOnlyList<string> Mitigations, double Units, string UnitName, SimResult Sim, ServingStats? Serving = null)
{
    public double MakespanMicros => Sim.MakespanMicros;

    public double UnitsPerSecond => Units / MakespanMicros * 1e6;
}

/// <summary>Runs workloads on platforms: calibration from CC-off measurements, mitigations, CC on and off.</summary>
internal static class ScenarioRunner
{
    public static RunOutcome Run(PlatformProfile platform, Workload workload, bool cc, int concurrency, IReadOnlyList<Mitigation>? mitigations = null, int seed = 1)
    {
        var w = Calibrate(platform, workload, concurrency, seed);
        foreach (var m in mitigations ?? [])
        {
            if (cc || !m.CcGated)
            {
                w = m.Apply(w);
            }
        }

        return Execute(platform, w, cc, concurrency, seed);
    }

    /// <summary>The CC-off run of a workload with its GPU activity recorded, as a profiler would see it (for trace export).</summary>
    public static (RunOutcome Run, ActivityLog Activity) Record(PlatformProfile platform, Workload workload, int concurrency, int seed = 1)
    {
        var log = new ActivityLog();
        var run = Execute(platform, Calibrate(platform, workload, concurrency, seed), false, concurrency, seed, log);
        return (run, log);
    }

    /// <summary>
    /// A workload measured with CC off (a step time, a wall time, a served rate) has its unknown GPU or host time solved
    /// so that the CC-off simulation reproduces the measurement; the CC-on run is then a prediction.
    /// </summary>
    internal static Workload Calibrate(PlatformProfile platform, Workload w, int concurrency, int seed)
    {
        if (w.MeasuredOffStepMicros is double target)
        {
            var g = target;
            for (var i = 0; i < 8; i++)
            {
                var trial = w with { StepComputeMicros = g, MeasuredOffStepMicros = null, Jitter = 0 };
                var step = Execute(platform, trial, cc: false, concurrency, seed).MakespanMicros / w.Steps;
                g += target - step;
                if (g < 0)
                {
                    throw new BridgeInputException($"{w.Id}: measured_off_step_us", $"{target} us is shorter than the modelled CC-off overhead alone ({step:F1} us)");
                }

                if (Math.Abs(target - step) < 1e-6 * target)
                {
                    break;
                }
            }

            return w with { StepComputeMicros = g, MeasuredOffStepMicros = null };
        }

        if (w.Transfer is { MeasuredOffMicros: double wall } t)
        {
            var bare = w with { Transfer = t with { MeasuredOffMicros = null }, FixedHostMicros = 0 };
            var modelled = Execute(platform, bare, cc: false, concurrency, seed).MakespanMicros;
            if (modelled > wall)
            {
                throw new BridgeInputException($"{w.Id}: transfer.measured_off_s", $"{wall / 1e6} s is shorter than the modelled CC-off transfer alone ({modelled / 1e6:F3} s)");
            }

            return bare with { FixedHostMicros = wall - modelled };
        }

        return w.MeasuredOff is { } served ? CalibrateServing(platform, w, served, concurrency, seed) : w;
    }

    /// <summary>A time-like figure of a CC-off run (µs per request, per token, or to first token).</summary>
    internal static double TimeMetric(RunOutcome r, ServingTargetKind kind) => kind switch
    {
        ServingTargetKind.RequestsPerSecond => r.MakespanMicros / r.Serving!.Requests,
        ServingTargetKind.OutputTokensPerSecond => r.MakespanMicros / r.Units,
        _ => r.Serving!.MeanTtftMicros,
    };

    private static double TargetTime(ServingTarget t) => t.Kind switch
    {
        ServingTargetKind.RequestsPerSecond => 1e6 / t.Value,
        ServingTargetKind.OutputTokensPerSecond => 1e6 / t.Value,
        _ => t.Value * 1e3,
    };

    /// <summary>
    /// Scales roofline GPU time until the CC-off run reproduces the served figure. The figure's time is close to linear
    /// in the scale (GPU time plus a fixed host part), so a secant step converges in a few runs.
    /// </summary>
    private static Workload CalibrateServing(PlatformProfile platform, Workload w, ServingTarget target, int concurrency, int seed)
    {
        var goal = TargetTime(target);
        double Time(double k) => TimeMetric(Execute(platform, w with { GpuScale = k, MeasuredOff = null }, false, concurrency, seed), target.Kind);
        double k0 = 1, t0 = Time(k0);
        double k1 = k0 * goal / t0, t1 = Time(k1);

        // A time to first token under Poisson arrivals is a step function of the scale near the goal (an arrival makes
        // one prefill batch or the next), so the secant can pass within tolerance and then jump away: keep the best.
        var (bestK, bestT) = Math.Abs(t0 - goal) < Math.Abs(t1 - goal) ? (k0, t0) : (k1, t1);
        for (var i = 0; i < 12 && Math.Abs(t1 - goal) > 1e-6 * goal; i++)
        {
            var k2 = Math.Abs(t1 - t0) < 1e-12 ? k1 * goal / t1 : k1 + ((goal - t1) * (k1 - k0) / (t1 - t0));
            if (!(k2 > 0) || !double.IsFinite(k2))
            {
                throw new BridgeInputException($"{w.Id}: measured_off", $"the CC-off run cannot reproduce {target.Value:G4}: the modelled overhead alone is slower");
            }

            (k0, t0, k1, t1) = (k1, t1, k2, Time(k2));
            if (Math.Abs(t1 - goal) < Math.Abs(bestT - goal))
            {
                (bestK, bestT) = (k1, t1);
            }
        }

        return Math.Abs(bestT - goal) <= 1e-3 * goal
            ? w with { GpuScale = bestK, MeasuredOff = null }
            : throw new BridgeInputException($"{w.Id}: measured_off", $"the CC-off run does not converge on {target.Value:G4} (reaches {bestT:G4} us against {goal:G4} us)");
    }

    private static RunOutcome Execute(PlatformProfile platform, Workload w, bool cc, int concurrency, int seed, ActivityLog? log = null)
    {
        var p = platform.For(cc);
        if (w.Kind == WorkloadKind.Transfer)
        {
            var sim = Simulator.Run(ProgramBuilder.Transfer(w, p.HostCopyGBps), p, log);
            return new RunOutcome(platform.Id, w.Id, cc, 1, w.Mitigations, w.Transfer!.TotalBytes, "bytes", sim);
        }

        if (w.Requests is not null)
        {
            var source = new ServingSource(w, platform, cc, concurrency, seed);
            var sim = Simulator.Run(source.Program(), p, log);
            var stats = source.Stats(sim.Marks);
            return new RunOutcome(platform.Id, w.Id, cc, concurrency, w.Mitigations, stats.OutputTokens, "tokens", sim, stats);
        }

        var program = ProgramBuilder.Serving(w, platform, cc, concurrency, seed);
        var result = Simulator.Run(program, p, log);
        return new RunOutcome(platform.Id, w.Id, cc, concurrency, w.Mitigations, (double)w.Steps * concurrency, "tokens", result);
    }
}
