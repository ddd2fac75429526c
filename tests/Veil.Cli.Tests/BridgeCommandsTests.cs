using System.Text.Json;
using System.Xml.Linq;

namespace Veil.Cli.Tests;

/// <summary><c>veil bridge</c> verbs run in-process, as a user would see them.</summary>
public class BridgeCommandsTests
{
    [Fact]
    public void Simulate_table_shows_cc_off_cc_on_and_the_mitigated_series()
    {
        var (exit, output, err) = CliRunner.Run("bridge", "simulate", "--platform", "b300-tdx", "--workload", "decode", "--mitigation", "drain-worker", "--concurrency", "16");
        Assert.Equal(0, exit);
        Assert.Empty(err);
        Assert.Contains("cc-off", output);
        Assert.Contains("cc-on+drain-worker", output);
    }

    [Fact]
    public void Simulate_json_has_one_point_per_series_and_concurrency()
    {
        var (exit, output, _) = CliRunner.Run("bridge", "simulate", "-p", "h100-tdx", "-w", "decode", "-c", "1", "64", "--cc", "both", "--output", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(output);
        var points = doc.RootElement.GetProperty("points");
        Assert.Equal(4, points.GetArrayLength());
        foreach (var p in points.EnumerateArray())
        {
            Assert.True(p.GetProperty("throughput").GetDouble() > 0);
        }
    }

    [Fact]
    public void Simulate_svg_is_an_svg_document()
    {
        var (exit, output, _) = CliRunner.Run("bridge", "simulate", "-p", "rtxpro6000-tdx", "-w", "decode", "-o", "svg");
        Assert.Equal(0, exit);
        Assert.Equal("svg", XDocument.Parse(output).Root!.Name.LocalName);
    }

    [Fact]
    public void Same_seed_gives_identical_output()
    {
        var a = CliRunner.Run("bridge", "simulate", "-p", "h200-tdx", "-w", "decode", "-c", "4", "--seed", "9", "-o", "json");
        var b = CliRunner.Run("bridge", "simulate", "-p", "h200-tdx", "-w", "decode", "-c", "4", "--seed", "9", "-o", "json");
        Assert.Equal(a.Out, b.Out);
    }

    [Fact]
    public void Advise_ranks_mitigations()
    {
        var (exit, output, _) = CliRunner.Run("bridge", "advise", "-p", "b300-tdx", "-w", "model-load", "-o", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(output);
        var ranked = doc.RootElement.GetProperty("ranked").EnumerateArray().ToList();
        Assert.Equal("large-chunks", ranked[0].GetProperty("id").GetString());
        var means = ranked.Select(r => r.GetProperty("recovered").EnumerateArray().Average(v => v.GetDouble())).ToList();
        Assert.Equal(means.OrderDescending(), means);
    }

    [Fact]
    public void Validate_exit_code_agrees_with_its_rows_and_lists_every_miss_with_its_reason()
    {
        var (exit, output, _) = CliRunner.Run("bridge", "validate", "--output", "json");
        using var doc = JsonDocument.Parse(output);
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.True(rows.Count >= 30);
        Assert.Equal(rows.Any(r => r.GetProperty("unaccounted").GetBoolean()) ? 1 : 0, exit);

        var table = CliRunner.Run("bridge", "validate");
        Assert.Equal(exit, table.Exit);
        Assert.Contains("blackwell-kv-restore", table.Out);
        Assert.Contains("calibration figures", table.Out);
        Assert.Contains("prediction figures", table.Out);
        var misses = rows.Where(r => !r.GetProperty("within").GetBoolean()).Select(r => r.GetProperty("figure").GetProperty("id").GetString()!).ToList();
        foreach (var id in misses)
        {
            Assert.Contains($"- {id} (error ", table.Out);
        }

        // --strict fails on any miss, explained or not.
        Assert.Equal(misses.Count > 0 ? 1 : exit, CliRunner.Run("bridge", "validate", "--strict").Exit);
    }

    [Fact]
    public void Simulate_sweeps_concurrency_with_serving_columns_and_a_ratio_plot()
    {
        // The sweep as written: four levels, each a table row per series and a point on the SVG's lines.
        var (exit, output, err) = CliRunner.Run("bridge", "simulate", "-p", "h100-tdx", "-w", "serving-mix", "--sweep", "concurrency=1,16,64,256", "-m", "drain-worker");
        Assert.Equal(0, exit);
        Assert.Empty(err);
        Assert.Contains("ttft ms", output);
        var rows = output.Split('\n').Where(l => l.StartsWith("cc-", StringComparison.Ordinal)).ToList();
        Assert.Equal(4 * 3, rows.Count); // four levels x cc-off, cc-on, cc-on+drain-worker
        foreach (var c in new[] { "1", "16", "64", "256" })
        {
            Assert.Equal(3, rows.Count(r => r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1] == c));
        }

        var svg = XDocument.Parse(CliRunner.Run("bridge", "simulate", "-p", "h100-tdx", "-w", "serving-mix", "--sweep", "concurrency=1,16,64,256", "-o", "svg").Out);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(2 + 1, svg.Descendants(ns + "polyline").Count()); // throughput of cc-off and cc-on, and cc-on relative to cc-off
        Assert.All(svg.Descendants(ns + "polyline"), l => Assert.Equal(4, l.Attribute("points")!.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length));
    }

    [Theory]
    [InlineData("--sweep", "rate=1,2")]
    [InlineData("--sweep", "concurrency=1,zero")]
    [InlineData("--sweep", "concurrency=")]
    public void Bad_sweep_is_one_line_and_exit_2(string option, string value)
    {
        var (exit, output, err) = CliRunner.Run("bridge", "simulate", "-p", "h100-tdx", "-w", "serving-mix", option, value);
        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.Contains("--sweep", err);
    }

    [Fact]
    public void Sweep_and_concurrency_together_are_refused()
    {
        var (exit, _, err) = CliRunner.Run("bridge", "simulate", "-p", "h100-tdx", "-w", "serving-mix", "--sweep", "concurrency=1", "-c", "4");
        Assert.Equal(2, exit);
        Assert.Contains("not both", err);
    }

    [Theory]
    [InlineData("t.sqlite")]
    [InlineData("t.csv")]
    public void A_simulated_run_written_as_a_trace_predicts_back(string name)
    {
        var dir = Directory.CreateTempSubdirectory("veil-bridge-cli-").FullName;
        try
        {
            var path = Path.Combine(dir, name);
            var sim = CliRunner.Run("bridge", "simulate", "-p", "h100-snp", "-w", "val-h100snp-llama8b-tps", "--cc", "off", "--trace-out", path);
            Assert.Equal(0, sim.Exit);
            Assert.Contains("wrote 832 GPU activities", sim.Err);
            var (exit, output, err) = CliRunner.Run("bridge", "predict", "--trace", path, "-p", "h100-snp");
            Assert.Equal(0, exit);
            Assert.Empty(err);
            Assert.Contains("320 copies priced as framework-level", output);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Trace_out_needs_one_level()
    {
        var (exit, _, err) = CliRunner.Run("bridge", "simulate", "-p", "h100-tdx", "-w", "decode", "--trace-out", Path.Combine(Path.GetTempPath(), "never.sqlite"));
        Assert.Equal(2, exit);
        Assert.Contains("one concurrency level", err);
    }

    [Fact]
    public void Predict_reads_a_trace_file()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "start,duration,kind,bytes,stream\n0,10000,h2d,1048576,1\n10000,500000,kernel,0,1\n");
            var (exit, output, err) = CliRunner.Run("bridge", "predict", "--trace", path, "--platform", "h100-snp");
            Assert.Equal(0, exit);
            Assert.Empty(err);
            Assert.Contains("predicted CC on", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("simulate", "-p", "a100-sgx", "-w", "decode")]
    [InlineData("simulate", "-p", "b300-tdx", "-w", "no-such-workload")]
    [InlineData("simulate", "-p", "b300-tdx", "-w", "decode", "-m", "turbo")]
    [InlineData("simulate", "-p", "b300-tdx", "-w", "decode", "-c", "0")]
    [InlineData("simulate", "-p", "b300-tdx", "-w", "decode", "--seed", "-1")]
    [InlineData("simulate", "-p", "b300-tdx", "-w", "/nonexistent/w.yaml")]
    [InlineData("predict", "--trace", "/nonexistent/trace.csv", "-p", "b300-tdx")]
    [InlineData("predict", "--trace", "/nonexistent/trace.sqlite", "-p", "b300-tdx", "--api-level", "none")]
    public void Bad_input_is_one_line_and_exit_2(params string[] args)
    {
        var (exit, output, err) = CliRunner.Run(["bridge", .. args]);
        Assert.Equal(2, exit);
        Assert.Empty(output);
        Assert.StartsWith("veil: ", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Bad_workload_file_names_the_field()
    {
        var path = Path.Combine(Path.GetTempPath(), $"veil-bridge-{Guid.NewGuid():N}.yaml");
        try
        {
            File.WriteAllText(path, "id: w\nkind: serving\ndescription: d\nstep_compute_us: 100\ncrossings:\n  - { name: x, direction: up, phase: input }\n");
            var (exit, _, err) = CliRunner.Run("bridge", "simulate", "-p", "b300-tdx", "-w", path);
            Assert.Equal(2, exit);
            Assert.Contains("crossings[0].direction", err);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Platforms_lists_every_parameter_with_its_source()
    {
        var (exit, output, _) = CliRunner.Run("bridge", "platforms", "-o", "json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(5, doc.RootElement.GetArrayLength());
        foreach (var p in doc.RootElement.EnumerateArray())
        {
            foreach (var param in p.GetProperty("parameters").EnumerateObject())
            {
                Assert.False(string.IsNullOrWhiteSpace(param.Value.GetProperty("source").GetString()), param.Name);
            }
        }
    }
}
