using Veil.Bridge.Engine;
using Veil.Bridge.Platforms;
using Veil.Bridge.Validation;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Tests;

/// <summary>Platform profiles, workloads and figures are data: they load, and bad files fail with a named field.</summary>
public class CatalogTests
{
    private const string MinimalWorkload = """
        id: w
        kind: serving
        description: d
        step_compute_us: 100
        crossings:
          - { name: x, direction: h2d, phase: input, bytes: 4 }
        """;

    public static TheoryData<string> PlatformIds => ["h100-tdx", "h100-snp", "h200-tdx", "b300-tdx", "rtxpro6000-tdx"];

    [Theory]
    [MemberData(nameof(PlatformIds))]
    public void Every_named_platform_is_built_in_and_every_parameter_cites_a_source(string id)
    {
        var p = PlatformCatalog.Resolve(id);
        Assert.Equal(id, p.Id);
        Assert.Equal(PlatformProfile.RequiredParameters.Order(), p.Parameters.Keys.Order());
        Assert.All(p.Parameters.Values, v => Assert.False(string.IsNullOrWhiteSpace(v.Source)));
        Assert.True(p.On.HostToDevice.BandwidthGBps < p.Off.HostToDevice.BandwidthGBps, "CC bandwidth below non-CC");
    }

    [Theory]
    [InlineData("decode")]
    [InlineData("kv-restore")]
    [InlineData("model-load")]
    [InlineData("offload")]
    public void Seed_workloads_are_built_in(string id) => Assert.Equal(id, WorkloadCatalog.Resolve(id).Id);

    [Fact]
    public void Every_figure_names_existing_platforms_and_workloads()
    {
        Assert.NotEmpty(FigureCatalog.All);
        foreach (var f in FigureCatalog.All)
        {
            Assert.All(f.Platforms, p => PlatformCatalog.Resolve(p));
            if (f.Workload is not null)
            {
                WorkloadCatalog.Resolve(f.Workload);
            }
        }
    }

    [Fact]
    public void Unknown_platform_names_the_option()
    {
        var e = Assert.Throws<BridgeInputException>(() => PlatformCatalog.Resolve("a100-sgx"));
        Assert.Equal("--platform", e.Field);
        Assert.Contains("b300-tdx", e.Message);
    }

    [Fact]
    public void Profile_without_a_source_is_rejected()
    {
        var yaml = Profile().Replace("source: \"s-cc.launch_us\"", "source: \"\"", StringComparison.Ordinal);
        var e = Assert.Throws<BridgeInputException>(() => PlatformCatalog.Parse(yaml, "p.yaml"));
        Assert.Contains("cc.launch_us", e.Field);
        Assert.Contains("source", e.Reason);
    }

    [Fact]
    public void Profile_missing_a_parameter_lists_it()
    {
        var yaml = string.Join('\n', Profile().Split('\n').Where(l => !l.Contains("host.copy_gbps", StringComparison.Ordinal)));
        var e = Assert.Throws<BridgeInputException>(() => PlatformCatalog.Parse(yaml, "p.yaml"));
        Assert.Contains("host.copy_gbps", e.Reason);
    }

    [Theory]
    [InlineData("off.h2d.gbps", "-3", "positive")]
    [InlineData("gpu.mem_efficiency", "1.5", "fraction")]
    [InlineData("off.h2d.gbps", "fast", "")]
    public void Profile_with_a_bad_value_names_the_parameter(string key, string value, string reason)
    {
        var yaml = Profile().Replace($"{key}: {{ value: 1,", $"{key}: {{ value: {value},", StringComparison.Ordinal);
        var e = Assert.Throws<BridgeInputException>(() => PlatformCatalog.Parse(yaml, "p.yaml"));
        Assert.Contains("p.yaml", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Profile_with_an_unknown_parameter_is_rejected()
    {
        var yaml = Profile() + "  cc.magic: { value: 1, source: x }\n";
        var e = Assert.Throws<BridgeInputException>(() => PlatformCatalog.Parse(yaml, "p.yaml"));
        Assert.Contains("cc.magic", e.Field);
    }

    [Fact]
    public void Minimal_workload_parses()
    {
        var w = WorkloadCatalog.Parse(MinimalWorkload, "w.yaml");
        Assert.Equal(100, w.StepComputeMicros);
        Assert.Null(Assert.Single(w.Crossings).SyncLevel);

        var readback = WorkloadCatalog.Parse(MinimalWorkload.Replace("bytes: 4", "bytes: 4, level: api, sync_level: dma", StringComparison.Ordinal), "w.yaml").Crossings[0];
        Assert.Equal(CrossingLevel.Api, readback.LevelFor(Scheduling.Async));
        Assert.Equal(CrossingLevel.Dma, readback.LevelFor(Scheduling.Sync));
    }

    [Theory]
    [InlineData("direction: h2d", "direction: sideways", "crossings[0].direction")]
    [InlineData("kind: serving", "kind: batch", "kind")]
    [InlineData("step_compute_us: 100", "step_compute_us: -1", "step_compute_us")]
    [InlineData("step_compute_us: 100", "concurrency: [1]", "model")]
    [InlineData("bytes: 4", "bytes: 4, colour: red", "line")]
    [InlineData("id: w", "id: w\nid: v", "line")]
    [InlineData("bytes: 4", "bytes: 4, sync_level: pcie", "crossings[0].sync_level")]
    public void Bad_workloads_name_the_field(string from, string to, string field)
    {
        var e = Assert.Throws<BridgeInputException>(() => WorkloadCatalog.Parse(MinimalWorkload.Replace(from, to, StringComparison.Ordinal), "w.yaml"));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void Transfer_with_too_many_chunks_is_refused_before_running()
    {
        const string yaml = "id: t\nkind: transfer\ndescription: d\ntransfer: { total_bytes: 1e12, chunk_bytes: 1 }\n";
        var e = Assert.Throws<BridgeInputException>(() => WorkloadCatalog.Parse(yaml, "t.yaml"));
        Assert.Contains("chunk_bytes", e.Field);
    }

    [Fact]
    public void Truncated_yaml_is_a_typed_error()
    {
        for (var cut = 1; cut < MinimalWorkload.Length; cut += 7)
        {
            try
            {
                WorkloadCatalog.Parse(MinimalWorkload[..cut], "w.yaml");
            }
            catch (BridgeInputException)
            {
                // expected for most cuts; a cut at a line end may still be a complete document
            }
        }
    }

    [Fact]
    public void Oversized_yaml_is_refused()
    {
        var e = Assert.Throws<BridgeInputException>(() => WorkloadCatalog.Parse(new string('#', YamlData.MaxBytes + 1), "w.yaml"));
        Assert.Contains("larger", e.Reason);
    }

    [Fact]
    public void Random_input_only_ever_gives_typed_errors()
    {
        var rng = new Random(7);
        const string alphabet = "abc:{}[]-,\n \t\"'&*!|>%@`#0123456789.eE";
        for (var i = 0; i < 400; i++)
        {
            var chars = new char[rng.Next(1, 200)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[rng.Next(alphabet.Length)];
            }

            var text = new string(chars);
            foreach (var parse in new Action[] { () => WorkloadCatalog.Parse(text, "w"), () => PlatformCatalog.Parse(text, "p"), () => FigureCatalog.Parse(text, "f") })
            {
                try
                {
                    parse();
                }
                catch (BridgeInputException)
                {
                }
            }
        }
    }

    /// <summary>A valid profile with every value 1 and a per-key source "s-&lt;key&gt;".</summary>
    private static string Profile() =>
        "id: x\nname: X\ntestbed: T\nparameters:\n" +
        string.Concat(PlatformProfile.RequiredParameters.Select(k => $"  {k}: {{ value: 1, unit: u, source: \"s-{k}\" }}\n"));
}
