using Veil.Bridge.Engine;

namespace Veil.Bridge.Tests;

/// <summary>The event engine on cases small enough to compute by hand.</summary>
public class SimulatorTests
{
    // 1 GB/s = 1000 bytes/us, so a 4000-byte copy takes 4 us on top of the toll.
    private static BridgeParameters Params(bool cc, double toll = 10, double gbps = 1, double apiToll = 50, double launch = 2, double chunkToll = 0, long staging = 1 << 20) => new()
    {
        ConfidentialComputing = cc,
        HostToDevice = new CopyCost(toll, gbps, apiToll),
        DeviceToHost = new CopyCost(toll, gbps, apiToll),
        LaunchMicros = launch,
        ComputeFactor = 1.0,
        StagingBytes = staging,
        ChunkTollMicros = chunkToll,
        RemoteNumaBandwidthFactor = cc ? 0.5 : 1.0,
        HostCopyGBps = 10,
        AllocInitMicros = 0,
    };

    private static SimResult Run(bool cc, params Op[][] threads) => Run(Params(cc), threads);

    private static SimResult Run(BridgeParameters p, params Op[][] threads) =>
        Simulator.Run(new SimProgram(threads, streams: 4, events: 8), p);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void One_copy_costs_toll_plus_size_over_bandwidth(bool cc)
    {
        var r = Run(cc, [Op.Copy(0, Direction.HostToDevice, 4000, blocking: true), Op.Mark()]);
        Assert.Equal(14.0, r.MakespanMicros, 9);
        Assert.Equal([14.0], r.Marks);
        Assert.Equal(1, r.Crossings);
        Assert.Equal(4000, r.BytesToDevice);
    }

    [Fact]
    public void Two_copies_on_two_streams_serialize_on_the_secure_channel()
    {
        // Two threads, two streams, opposite directions: with CC one channel carries both.
        var on = Run(true, [Op.Copy(0, Direction.HostToDevice, 4000), Op.Mark()], [Op.Copy(1, Direction.DeviceToHost, 4000)]);
        Assert.Equal(28.0, on.MakespanMicros, 9);
        Assert.Equal(14.0, on.Marks[0], 9); // thread 0 asked first (tie goes to the lower index)
        Assert.Equal(28.0, on.ChannelBusyMicros, 9);

        // With CC off each direction has its own copy engine: they overlap.
        var off = Run(false, [Op.Copy(0, Direction.HostToDevice, 4000), Op.Mark()], [Op.Copy(1, Direction.DeviceToHost, 4000)]);
        Assert.Equal(14.0, off.MakespanMicros, 9);
    }

    [Fact]
    public void Two_copies_from_one_thread_queue_in_order()
    {
        var on = Run(true, [Op.Copy(0, Direction.HostToDevice, 4000), Op.Copy(1, Direction.HostToDevice, 6000), Op.Mark()]);
        Assert.Equal(14.0 + 16.0, on.Marks[0], 9);
    }

    [Fact]
    public void Async_copy_blocks_until_the_stream_drains_under_cc()
    {
        // Launch a 100 us kernel (2 us launch call), then a "non-blocking" copy on the same stream.
        Op[] program = [Op.Launch(0, 100), Op.Copy(0, Direction.HostToDevice, 4000), Op.Mark()];

        var on = Run(true, program);
        Assert.Equal(2 + 100 + 14.0, on.Marks[0], 9); // the thread waits for the kernel, then for its copy
        Assert.Equal(100 + 14.0, on.Main.CopyBlocked, 9);

        var off = Run(false, program);
        Assert.Equal(2.0, off.Marks[0], 9); // queued behind the kernel; the thread moves on
        Assert.Equal(116.0, off.MakespanMicros, 9);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_steps_launches_overlap_its_kernels(bool cc)
    {
        // Ten launches (2 us each) of ten 10-us kernels: kernel 1 starts when launch 1 returns and the GPU stays busy
        // while the thread issues the rest, so the step ends at 2 + 100, not 20 + 100 (all calls before any kernel).
        var gpuBound = Run(cc, [Op.Launch(0, 100, launches: 10), Op.Mark(), Op.Sync(0), Op.Mark()]);
        Assert.Equal(20.0, gpuBound.Marks[0], 9); // the thread still pays every call
        Assert.Equal(102.0, gpuBound.Marks[1], 9);

        // Ten 0.5-us kernels: launch-bound, the last kernel starts when the last call returns (20 + 0.5).
        var launchBound = Run(cc, [Op.Launch(0, 5, launches: 10), Op.Sync(0), Op.Mark()]);
        Assert.Equal(20.5, launchBound.Marks[0], 9);

        // Behind a 50-us kernel the calls hide completely: the step starts when the GPU frees (52) and runs 100.
        var behind = Run(cc, [Op.Launch(0, 50), Op.Launch(0, 100, launches: 10), Op.Sync(0), Op.Mark()]);
        Assert.Equal(152.0, behind.Marks[0], 9);
    }

    [Fact]
    public void Logged_kernels_start_when_their_launch_returned_and_the_previous_kernel_ended()
    {
        // Four launches (2 us) of four 1-us kernels, launch-bound: kernels at 2, 4, 6, 8 (not back to back from 8).
        var log = new ActivityLog();
        Simulator.Run(new SimProgram([[Op.Launch(0, 4, launches: 4), Op.Sync(0), Op.Mark()]], streams: 1, events: 0), Params(false), log);
        Assert.Equal([2.0, 4.0, 6.0, 8.0], log.Records.Select(a => a.StartMicros));
        Assert.Equal(9.0, log.Records[^1].EndMicros, 9);
    }

    [Fact]
    public void With_cc_off_a_copy_on_another_stream_overlaps_compute()
    {
        Op[] program = [Op.Launch(0, 100), Op.Copy(1, Direction.HostToDevice, 40_000), Op.Mark()];
        var off = Run(false, program);
        Assert.Equal(102.0, off.MakespanMicros, 9); // copy 2..52 under the kernel 2..102

        // With CC the copy still overlaps the kernel (another stream), but the thread is held for it.
        var on = Run(true, program);
        Assert.Equal(102.0, on.MakespanMicros, 9);
        Assert.Equal(52.0, on.Marks[0], 9);
    }

    [Fact]
    public void Api_level_crossing_spends_the_toll_above_dma_on_the_thread()
    {
        var on = Run(true, [Op.Copy(0, Direction.DeviceToHost, 4000, CrossingLevel.Api, blocking: true), Op.Mark()]);
        Assert.Equal(50 - 10 + 14.0, on.Marks[0], 9);
        Assert.Equal(14.0, on.ChannelBusyMicros, 9); // only the DMA part holds the channel
    }

    [Fact]
    public void Api_level_copy_behind_a_running_kernel_pays_its_toll_after_the_stream_drains()
    {
        // Notes §3.5: the issuing thread is held for the stream's remaining work plus the copy's own cost, so
        // the per-call toll does not hide behind the kernel: 2 (launch) + 100 (kernel) + 40 (API) + 14 (DMA).
        Op[] program = [Op.Launch(0, 100), Op.Copy(0, Direction.DeviceToHost, 4000, CrossingLevel.Api), Op.Mark()];
        var on = Run(true, program);
        Assert.Equal(156.0, on.Marks[0], 9);
        Assert.Equal(14.0, on.ChannelBusyMicros, 9);

        // CC off: the API work is the thread's, the copy queues behind the kernel on the copy engine.
        var off = Run(false, program);
        Assert.Equal(2 + 40.0, off.Marks[0], 9);
        Assert.Equal(116.0, off.MakespanMicros, 9);
    }

    [Fact]
    public void Staging_chunks_after_the_first_pay_the_chunk_toll()
    {
        var p = Params(cc: true, chunkToll: 5, staging: 1000);
        var r = Run(p, [Op.Copy(0, Direction.HostToDevice, 4000, blocking: true)]);
        Assert.Equal(14.0 + (3 * 5), r.MakespanMicros, 9);
    }

    [Fact]
    public void Remote_numa_scales_cc_bandwidth()
    {
        var p = Params(cc: true);
        var ops = new Op[][] { [Op.Copy(0, Direction.HostToDevice, 4000, blocking: true)] };
        var local = Simulator.Run(new SimProgram(ops, 1, 0, NumaPlacement.Local), p);
        var remote = Simulator.Run(new SimProgram(ops, 1, 0, NumaPlacement.Remote), p);
        var unpinned = Simulator.Run(new SimProgram(ops, 1, 0, NumaPlacement.Unpinned), p);
        Assert.Equal(14.0, local.MakespanMicros, 9);
        Assert.Equal(10 + 8.0, remote.MakespanMicros, 9);
        Assert.Equal(10 + (4000 / (0.75 * 1000)), unpinned.MakespanMicros, 9);
    }

    [Fact]
    public void A_thread_waits_for_an_event_another_thread_records()
    {
        Op[] main = [Op.Launch(0, 100), Op.Record(0, 3), Op.Mark()];
        Op[] worker = [Op.WaitEvent(3), Op.Copy(2, Direction.DeviceToHost, 4000, blocking: true)];
        var off = Run(false, main, worker);
        Assert.Equal(102 + 14.0, off.MakespanMicros, 9);
        Assert.Equal(2.0, off.Marks[0], 9);
    }

    [Fact]
    public void Stream_wait_event_orders_work_across_streams()
    {
        Op[] main = [Op.Copy(3, Direction.HostToDevice, 40_000), Op.Record(3, 0), Op.StreamWait(0, 0), Op.Launch(0, 10)];
        var off = Run(false, main);
        Assert.Equal(50 + 10.0, off.MakespanMicros, 9); // the kernel starts after the 50 us copy
    }

    [Fact]
    public void Waiting_for_an_event_nobody_records_is_reported_as_deadlock()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Run(false, [Op.WaitEvent(5)]));
        Assert.Contains("deadlock", e.Message);
    }

    [Fact]
    public void Launch_overhead_is_paid_per_launch_on_the_thread()
    {
        var r = Run(true, [Op.Launch(0, 0, launches: 7), Op.Mark()]);
        Assert.Equal(14.0, r.Marks[0], 9);
        Assert.Equal(7, r.Launches);
    }
}
