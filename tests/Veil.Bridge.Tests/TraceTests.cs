using System.Xml.Linq;
using Veil.Bridge.Mitigations;
using Veil.Bridge.Platforms;
using Veil.Bridge.Plots;
using Veil.Bridge.Reports;
using Veil.Bridge.Traces;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Tests;

/// <summary>Trace import (our CSV and nsys's cuda_gpu_trace shape), prediction, and the SVG output.</summary>
public class TraceTests
{
    private const string Simple = """
        start,duration,kind,bytes,stream
        0,10000,h2d,1048576,7
        10000,500000,kernel,0,7
        510000,5000,d2h,4096,7
        """;

    // The columns and quoting of `nsys stats --report cuda_gpu_trace --format csv`.
    private const string Nsys = """
        Start (ns),Duration (ns),CorrId,GrdX,GrdY,GrdZ,BlkX,BlkY,BlkZ,Reg/Trd,StcSMem (MB),DymSMem (MB),Bytes (MB),Throughput (MB/s),SrcMemKd,DstMemKd,Device,Ctx,GreenCtx,Strm,Name
        1000,20000,101,,,,,,,,,,1.049,52450.0,Pinned,Device,NVIDIA H100 (0),1,,7,[CUDA memcpy Host-to-Device]
        25000,300000,102,128,1,1,256,1,1,64,0.000,0.016,,,,,NVIDIA H100 (0),1,,7,"void gemm_kernel<float, 128>(int, float*)"
        330000,3000,103,,,,,,,,,,0.004,1365.0,Device,Pinned,NVIDIA H100 (0),1,,7,[CUDA memcpy Device-to-Host]
        """;

    [Fact]
    public void Simple_csv_parses_kinds_bytes_and_streams()
    {
        var rows = TraceCsv.Read(new StringReader(Simple));
        Assert.Equal(3, rows.Count);
        Assert.Equal(TraceKind.CopyToDevice, rows[0].Kind);
        Assert.Equal(1048576, rows[0].Bytes);
        Assert.Equal(TraceKind.Kernel, rows[1].Kind);
        Assert.Equal(TraceKind.CopyToHost, rows[2].Kind);
        Assert.All(rows, r => Assert.Equal(0, r.Stream)); // stream ids are renumbered from 0
    }

    [Fact]
    public void Nsys_gpu_trace_parses_with_quoted_names_and_megabytes()
    {
        var rows = TraceCsv.Read(new StringReader(Nsys));
        Assert.Equal([TraceKind.CopyToDevice, TraceKind.Kernel, TraceKind.CopyToHost], rows.Select(r => r.Kind));
        // Bytes (MB) is printed to three decimals; throughput × duration gives the bytes back (52450 MB/s × 20 us, and
        // 1365 MB/s × 3 us = 4095 B, a 4 KiB readback that "0.004 MB" alone would make 4000).
        Assert.Equal(1_049_000, rows[0].Bytes);
        Assert.Equal(300000, rows[1].DurationNs);
        Assert.Equal(4095, rows[2].Bytes);
        Assert.Equal(Veil.Bridge.Engine.HostMemory.Pinned, rows[0].Memory);
        Assert.Equal(Veil.Bridge.Engine.HostMemory.Pinned, rows[2].Memory);
        Assert.Null(rows[1].Memory);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("start,duration,kind,bytes\n0,1,kernel,0\n", "stream")]
    [InlineData("start,duration,bytes,stream\n0,1,0,1\n", "kind")]
    [InlineData("start,duration,kind,bytes,stream\n", "no rows")]
    [InlineData("start,duration,kind,bytes,stream\n0,1,teleport,0,1\n", "teleport")]
    [InlineData("start,duration,kind,bytes,stream\n0,-5,kernel,0,1\n", "duration")]
    [InlineData("start,duration,kind,bytes,stream\nzero,1,kernel,0,1\n", "start")]
    [InlineData("start,duration,kind,bytes,stream\n0,1,kernel,0\n", "4 fields")]
    [InlineData("start,duration,kind,bytes,stream\n0,1,\"kernel,0,1\n", "quote")]
    public void Bad_trace_is_a_typed_error_naming_the_place(string csv, string expected)
    {
        var e = Assert.Throws<BridgeInputException>(() => TraceCsv.Read(new StringReader(csv)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Overlong_line_is_refused()
    {
        var csv = "start,duration,kind,bytes,stream\n" + new string('1', TraceCsv.MaxLineLength + 1) + "\n";
        var e = Assert.Throws<BridgeInputException>(() => TraceCsv.Read(new StringReader(csv)));
        Assert.Contains("longer", e.Message);
    }

    [Fact]
    public void Random_bytes_only_ever_give_typed_errors()
    {
        var rng = new Random(11);
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[rng.Next(0, 300)];
            rng.NextBytes(bytes);
            var text = (i % 2 == 0 ? "start,duration,kind,bytes,stream\n" : string.Empty) + System.Text.Encoding.Latin1.GetString(bytes);
            try
            {
                TraceCsv.Read(new StringReader(text));
            }
            catch (BridgeInputException)
            {
            }
        }
    }

    [Fact]
    public void Prediction_of_a_small_trace_matches_the_hand_computation()
    {
        var p = PlatformCatalog.Resolve("h100-tdx");
        var prediction = TracePredictor.Predict(TraceCsv.Read(new StringReader(Simple)), p);
        Assert.Equal(0, prediction.ApiCopies); // no memory column: pinned, DMA level
        Assert.Equal(515.0, prediction.MeasuredMicros, 6);

        // CC on: H2D 35 + 1048576/3000 us blocks; the kernel launch (13.475 us) follows; the D2H blocks until
        // the kernel ends, then 28 + 4096/3000 us. Host gaps: none before the copy, none before the kernel
        // (the copy end 10 us is where the kernel started), none before the readback.
        var h2d = 35 + (1048576 / 3000.0);
        var expectedOn = h2d + 13.475 + 500 + 28 + (4096 / 3000.0);
        Assert.Equal(expectedOn, prediction.ModelOnMicros, 6);
        Assert.True(prediction.PredictedOnMicros > prediction.MeasuredMicros);
        Assert.Equal(1, prediction.CopiesToDevice);
        Assert.Equal(1, prediction.CopiesToHost);
    }

    [Fact]
    public void Kernel_only_trace_is_barely_slowed_by_cc()
    {
        var csv = "start,duration,kind,bytes,stream\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"{i * 1_000_000},900000,kernel,0,1\n"));
        var prediction = TracePredictor.Predict(TraceCsv.Read(new StringReader(csv)), PlatformCatalog.Resolve("b300-tdx"));
        Assert.InRange(prediction.Slowdown, 1.0, 1.01);
    }

    [Fact]
    public void Svg_for_serving_has_one_line_per_series_and_is_well_formed()
    {
        var report = Simulation.Run(PlatformCatalog.Resolve("b300-tdx"), WorkloadCatalog.Resolve("decode") with { Steps = 8 }, [Mitigation.Resolve("drain-worker")], CcMode.Both);
        var svg = XDocument.Parse(SvgChart.Render(report));
        XNamespace ns = "http://www.w3.org/2000/svg";
        // Throughput panel: cc-off, cc-on, cc-on+drain-worker; ratio panel: the two CC-on series over cc-off.
        Assert.Equal(3 + 2, svg.Descendants(ns + "polyline").Count());
        Assert.Equal((5 * 3) + (5 * 2), svg.Descendants(ns + "circle").Count());
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "cc-on+drain-worker");
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value.Contains("relative to cc-off", StringComparison.Ordinal));

        // Each ratio point is that series' throughput over cc-off's at the same concurrency.
        var off = report.Points.Single(p => p.Series == "cc-off" && p.Concurrency == 16).Throughput;
        var on = report.Points.Single(p => p.Series == "cc-on" && p.Concurrency == 16).Throughput;
        Assert.Contains(svg.Descendants(ns + "title"), t => t.Value.StartsWith($"cc-on c=16: {on / off:0.###}", StringComparison.Ordinal));
    }

    [Fact]
    public void Svg_for_a_transfer_is_a_breakdown_only()
    {
        var report = Simulation.Run(PlatformCatalog.Resolve("h100-tdx"), WorkloadCatalog.Resolve("kv-restore"), [], CcMode.Both);
        var svg = XDocument.Parse(SvgChart.Render(report));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Empty(svg.Descendants(ns + "polyline"));
        Assert.Contains(svg.Descendants(ns + "rect"), r => r.Element(ns + "title") is not null);
    }
}
