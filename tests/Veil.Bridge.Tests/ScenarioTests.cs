using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Validation;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Tests;

/// <summary>Workload → program → result on cases checked by hand, and the published-figure validation.</summary>
public class ScenarioTests
{
    public static TheoryData<string> FigureIds => [.. FigureCatalog.All.Select(f => f.Id)];

    /// <summary>
    /// Every figure is within its tolerance, or outside it with the reason recorded (kept and reported, not dropped);
    /// a recorded reason on a figure that is within tolerance fails too, so the list of misses stays true.
    /// </summary>
    [Theory]
    [MemberData(nameof(FigureIds))]
    public void Published_figure_is_predicted_within_tolerance_or_its_miss_is_explained(string id)
    {
        var check = Validator.Check(FigureCatalog.All.Single(f => f.Id == id));
        Assert.True(double.IsFinite(check.Predicted) && check.Predicted > 0);
        Assert.False(check.Unaccounted, $"{id}: published {check.Figure.Published}, model {check.Predicted:G4}, error {check.RelativeError:P1}, known_miss: {check.Figure.KnownMiss ?? "none"}");
    }

    [Fact]
    public void Only_predictions_may_miss_and_calibrations_stay_apart()
    {
        Assert.All(FigureCatalog.All.Where(f => f.Calibration), f => Assert.Null(f.KnownMiss));
        Assert.True(FigureCatalog.All.Count(f => !f.Calibration) > FigureCatalog.All.Count(f => f.Calibration));
    }

    [Fact]
    public void Sync_serving_step_is_cpu_plus_copies_plus_compute_plus_readback()
    {
        var p = PlatformCatalog.Resolve("h100-tdx");
        var w = new Workload
        {
            Id = "t",
            Kind = WorkloadKind.Serving,
            Description = "t",
            StepComputeMicros = 1000,
            Steps = 10,
            CpuMicrosPerStep = 50,
            LaunchesPerStep = 2,
            Crossings =
            [
                new Crossing("in", Direction.HostToDevice, 3000, 0, CrossingLevel.Dma, CrossingPhase.Input, false),
                new Crossing("out", Direction.DeviceToHost, 3000, 0, CrossingLevel.Api, CrossingPhase.Output, false),
            ],
        };

        // CC on: cpu 50, H2D 35 + 3000/3000 = 36 (blocks), the first launch call 13.475 (the second is issued
        // while the first 500-us kernel runs), kernels 1000; the readback waits for the kernels, then pays its API
        // work (125 - 28 = 97 us) on the thread and 28 + 1 on the channel.
        var on = ScenarioRunner.Run(p, w, true, 1);
        var expectedOn = 50 + 36 + 13.475 + 1000 + 97 + 29;
        Assert.Equal(expectedOn * 10, on.MakespanMicros, 6);

        // CC off: the H2D is queued (1.9 + 3000/43100 us) while the thread launches; the first kernel waits for it
        // and for its own launch call.
        var off = ScenarioRunner.Run(p, w, false, 1);
        var h2d = 1.9 + (3000 / 43100.0);
        var kernelStart = Math.Max(50 + 6.15, 50 + h2d);
        var readback = 1.9 + (3000 / 41700.0);
        Assert.Equal((kernelStart + 1000 + readback) * 10, off.MakespanMicros, 6);
    }

    [Theory]
    [InlineData(true, 97.0)]
    [InlineData(false, 0.0)]
    public void Sync_level_of_a_readback_applies_only_under_sync_scheduling(bool sync, double savedPerStep)
    {
        var scheduling = sync ? Scheduling.Sync : Scheduling.Async;
        // vLLM reads sampled tokens back into a persistent pinned buffer when sync (DMA level) and into a new
        // tensor when async (API level): under CC the sync readback skips the API work (h100-tdx D2H: 125 - 28 us).
        var p = PlatformCatalog.Resolve("h100-tdx");
        Crossing Out(CrossingLevel? syncLevel) => new("out", Direction.DeviceToHost, 64, 0, CrossingLevel.Api, CrossingPhase.Output, false, SyncLevel: syncLevel);
        var w = new Workload { Id = "t", Kind = WorkloadKind.Serving, Description = "t", StepComputeMicros = 1000, Steps = 10, Scheduling = scheduling, Crossings = [Out(null)] };
        var api = ScenarioRunner.Run(p, w, true, 1).MakespanMicros;
        var dma = ScenarioRunner.Run(p, w with { Crossings = [Out(CrossingLevel.Dma)] }, true, 1).MakespanMicros;
        Assert.Equal(savedPerStep * 10, api - dma, 6);
    }

    [Fact]
    public void Blocking_input_crossing_holds_the_thread_even_with_cc_off()
    {
        var p = PlatformCatalog.Resolve("h100-tdx");
        Crossing In(bool blocking) => new("in", Direction.HostToDevice, 431_000, 0, CrossingLevel.Dma, CrossingPhase.Input, false, blocking);
        var w = new Workload { Id = "t", Kind = WorkloadKind.Serving, Description = "t", StepComputeMicros = 100, LaunchesPerStep = 0, Crossings = [In(false)] };
        var copy = 1.9 + (431_000 / 43_100.0);
        var queued = ScenarioRunner.Run(p, w, false, 1);
        var blocking = ScenarioRunner.Run(p, w with { Crossings = [In(true)] }, false, 1);
        Assert.Equal(copy + 100, queued.MakespanMicros, 6);
        Assert.Equal(copy, blocking.Sim.Main.CopyBlocked, 6);
        Assert.Equal(0, queued.Sim.Main.CopyBlocked, 6);
    }

    [Fact]
    public void Measured_cc_off_step_is_reproduced_by_calibration()
    {
        var p = PlatformCatalog.Resolve("h100-snp");
        var w = WorkloadCatalog.Resolve("val-h100snp-llama8b-tps");
        var off = ScenarioRunner.Run(p, w, false, 1);
        Assert.Equal(w.MeasuredOffStepMicros!.Value * w.Steps, off.MakespanMicros, 3);
    }

    [Fact]
    public void Measured_time_shorter_than_the_modelled_overhead_is_refused()
    {
        var p = PlatformCatalog.Resolve("h100-snp");
        var w = WorkloadCatalog.Resolve("val-h100snp-llama8b-tps") with { MeasuredOffStepMicros = 10 };
        var e = Assert.Throws<BridgeInputException>(() => ScenarioRunner.Run(p, w, false, 1));
        Assert.Contains("measured_off_step_us", e.Field);
    }

    [Fact]
    public void Model_description_gives_memory_bound_decode_on_the_roofline()
    {
        var p = PlatformCatalog.Resolve("b300-tdx");
        var w = WorkloadCatalog.Resolve("decode");
        var us = ProgramBuilder.StepComputeMicros(w, p.Gpu, 1);
        var bytes = (8.03e9 * 2) + (1024 * 131072.0);
        Assert.Equal(bytes / (8.0e12 * 0.7) * 1e6, us, 6);
        Assert.True(ProgramBuilder.StepComputeMicros(w, p.Gpu, 256) > us);
    }

    [Fact]
    public void Kv_restore_overlaps_gather_and_copy_only_with_cc_off()
    {
        var p = PlatformCatalog.Resolve("b300-tdx");
        var w = WorkloadCatalog.Resolve("kv-restore");
        var chunks = w.Transfer!.TotalBytes / w.Transfer.ChunkBytes;
        var gather = w.Transfer.ChunkBytes / (p.Off.HostCopyGBps * 1e3);
        var off = ScenarioRunner.Run(p, w, false, 1).MakespanMicros;
        var on = ScenarioRunner.Run(p, w, true, 1).MakespanMicros;
        var offCopy = p.Off.HostToDevice.ServiceMicros(w.Transfer.ChunkBytes, 1);
        var onCopy = p.On.HostToDevice.ServiceMicros(w.Transfer.ChunkBytes, 1);
        Assert.Equal((chunks * gather) + offCopy, off, 3);       // gather-bound pipeline, last copy sticks out
        Assert.Equal(chunks * (gather + onCopy), on, 3);         // every copy blocks the gathering thread
    }
}
