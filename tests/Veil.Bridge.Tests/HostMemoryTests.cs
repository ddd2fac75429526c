using Veil.Bridge.Engine;

namespace Veil.Bridge.Tests;

/// <summary>Pinned vs pageable copies, zero-copy kernels, idling and programs fed while they run, on hand-computed cases.</summary>
public class HostMemoryTests
{
    // 1 GB/s link (1000 B/us), toll 10 us; pageable: whole fixed cost 30 us, host staging at 0.5 GB/s (500 B/us).
    private static BridgeParameters Params(bool cc) => new()
    {
        ConfidentialComputing = cc,
        HostToDevice = new CopyCost(10, 1, 50),
        DeviceToHost = new CopyCost(10, 1, 50),
        LaunchMicros = 2,
        ComputeFactor = 1.0,
        StagingBytes = 1 << 20,
        ChunkTollMicros = 0,
        RemoteNumaBandwidthFactor = 1.0,
        HostCopyGBps = 0.5,
        AllocInitMicros = 0,
        PageableTollMicros = 30,
    };

    private static SimResult Run(bool cc, params Op[][] threads) => Simulator.Run(new SimProgram(threads, streams: 4, events: 8), Params(cc));

    [Fact]
    public void Pageable_h2d_with_cc_off_stages_on_the_thread_and_returns_before_the_dma_ends()
    {
        // Set-up 30 - 10 = 20 us on the thread, staging 4000 / 500 = 8 us; the DMA (10 + 4 us) starts after the
        // set-up and pipelines behind the staging: it ends at max(20 + 14, 28) = 34.
        var r = Run(false, [Op.Copy(0, Direction.HostToDevice, 4000, memory: HostMemory.Pageable), Op.Mark()]);
        Assert.Equal(28.0, r.Marks[0], 9);
        Assert.Equal(34.0, r.MakespanMicros, 9);

        var pinned = Run(false, [Op.Copy(0, Direction.HostToDevice, 4000), Op.Mark()]);
        Assert.Equal(0.0, pinned.Marks[0], 9);
        Assert.Equal(14.0, pinned.MakespanMicros, 9);
    }

    [Fact]
    public void Large_pageable_copy_runs_at_the_host_staging_rate()
    {
        var r = Run(false, [Op.Copy(0, Direction.HostToDevice, 10_000_000, memory: HostMemory.Pageable)]);
        Assert.Equal(20 + (10_000_000 / 500.0), r.MakespanMicros, 6);
    }

    [Fact]
    public void Pageable_d2h_with_cc_off_waits_for_the_stream_and_the_copy()
    {
        // Launch 2 us, kernel 2..102; the readback's set-up (20 us) runs meanwhile, then it waits for the kernel and
        // the copy (max(14, 8) us): the call returns at 116. A pinned readback would return at once.
        Op[] program = [Op.Launch(0, 100), Op.Copy(0, Direction.DeviceToHost, 4000, memory: HostMemory.Pageable), Op.Mark()];
        Assert.Equal(116.0, Run(false, program).Marks[0], 9);
        Op[] pinned = [Op.Launch(0, 100), Op.Copy(0, Direction.DeviceToHost, 4000), Op.Mark()];
        Assert.Equal(2.0, Run(false, pinned).Marks[0], 9);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Under_cc_pageable_and_pinned_copies_cost_the_same(bool h2d)
    {
        var d = h2d ? Direction.HostToDevice : Direction.DeviceToHost;
        var pinned = Run(true, [Op.Copy(0, d, 4000), Op.Mark()]);
        var pageable = Run(true, [Op.Copy(0, d, 4000, memory: HostMemory.Pageable), Op.Mark()]);
        Assert.Equal(14.0, pinned.Marks[0], 9);
        Assert.Equal(pinned.Marks[0], pageable.Marks[0], 9);
    }

    [Fact]
    public void Zero_copy_kernel_uses_the_link_but_no_copy_engine()
    {
        // A zero-copy read of 4000 B (4 us on the link after its 2 us launch) alongside a pinned copy on another
        // stream: they overlap, where two copies in one direction would queue on the copy engine.
        var r = Run(false, [Op.ZeroCopy(1, Direction.HostToDevice, 4000), Op.Copy(2, Direction.HostToDevice, 4000), Op.Mark()]);
        Assert.Equal(16.0, r.MakespanMicros, 9); // copy 2..16, zero-copy 2..6
        Assert.Equal(1, r.Crossings);
        Assert.Equal(8000, r.BytesToDevice);
    }

    [Fact]
    public void Zero_copy_under_cc_is_refused()
    {
        var e = Assert.Throws<BridgeInputException>(() => Run(true, [Op.ZeroCopy(1, Direction.HostToDevice, 4000)]));
        Assert.Contains("§3.6", e.Message);
    }

    [Fact]
    public void Idle_until_moves_the_clock_and_counts_as_waiting()
    {
        var r = Run(false, [Op.Cpu(5), Op.IdleUntil(50), Op.IdleUntil(20), Op.Mark()]);
        Assert.Equal(50.0, r.Marks[0], 9);
        Assert.Equal(45.0, r.Main.Waiting, 9);
    }

    [Fact]
    public void A_source_feeds_thread_0_when_it_runs_dry_at_its_clock()
    {
        var source = new CountingSource(3);
        var r = Simulator.Run(new SimProgram([[], []], streams: 4, events: 8, source: source), Params(false));
        Assert.Equal([10.0, 20.0, 30.0], r.Marks);
        Assert.Equal([0.0, 10.0, 20.0, 30.0], source.Calls);

        // The worker's ops (5 us each, appended with every step) ran too, never ahead of the step that appended them.
        Assert.Equal(30.0, r.MakespanMicros, 9);
    }

    [Fact]
    public void A_fed_program_whose_threads_wait_forever_is_a_deadlock()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Simulator.Run(new SimProgram([[]], streams: 1, events: 1, source: new WaitingSource()), Params(false)));
        Assert.Contains("deadlock", e.Message);
    }

    /// <summary>Appends one 10-us step (and 5 us of worker time) per call, <c>steps</c> times.</summary>
    private sealed class CountingSource(int steps) : IOpSource
    {
        public List<double> Calls { get; } = [];

        public bool Refill(double now, OpBuffer buffer)
        {
            Calls.Add(now);
            if (Calls.Count > steps)
            {
                return false;
            }

            buffer.Add(0, Op.Cpu(10));
            buffer.Add(0, Op.Mark(Calls.Count - 1));
            buffer.Add(1, Op.Cpu(5));
            return true;
        }
    }

    private sealed class WaitingSource : IOpSource
    {
        public bool Refill(double now, OpBuffer buffer)
        {
            buffer.Add(0, Op.WaitEvent(0));
            return true;
        }
    }
}
