using Veil.Bridge.Engine;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Scenarios;

/// <summary>One simulated run and what it delivered.</summary>
/// <param name="Units">Tokens generated (serving) or bytes moved (transfer).</param>
internal sealed record RunOutcome(string Platform, string Workload, bool Cc, int Concurrency, IReadOnlyList<string> Mitigations, double Units, string UnitName, SimResult Sim)
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

    /// <summary>
    /// A workload measured with CC off (a step time, a wall time) has its unknown GPU or host time solved so
    /// that the CC-off simulation reproduces the measurement; the CC-on run is then a prediction.
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

        return w;
    }

    private static RunOutcome Execute(PlatformProfile platform, Workload w, bool cc, int concurrency, int seed)
    {
        var p = platform.For(cc);
        if (w.Kind == WorkloadKind.Transfer)
        {
            var sim = Simulator.Run(ProgramBuilder.Transfer(w, p.HostCopyGBps), p);
            return new RunOutcome(platform.Id, w.Id, cc, 1, w.Mitigations, w.Transfer!.TotalBytes, "bytes", sim);
        }

        var step = ProgramBuilder.StepComputeMicros(w, platform.Gpu, concurrency);
        var program = ProgramBuilder.Serving(w, step, concurrency, seed);
        var result = Simulator.Run(program, p);
        return new RunOutcome(platform.Id, w.Id, cc, concurrency, w.Mitigations, (double)w.Steps * concurrency, "tokens", result);
    }
}
