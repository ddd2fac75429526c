using Veil.Bridge.Platforms;
using Veil.Bridge.Scenarios;
using Veil.Bridge.Workloads;

namespace Veil.Bridge.Tests;

/// <summary>Continuous batching of a request mix: schedules checked by hand, open and closed loops, calibration, bad files.</summary>
public class RequestMixTests
{
    private const string MixYaml = """
        id: m
        kind: serving
        description: d
        model: { name: x, parameters: 8e9, bytes_per_param: 2, kv_bytes_per_token: 131072, layers: 32 }
        requests:
          count: 8
          prompt_tokens: { dist: lognormal, mean: 100, sigma: 0.5, min: 4, max: 400 }
          output_tokens: { mean: 16 }
        concurrency: [4]
        """;

    internal static Workload Mix(bool chunked = true, int budget = 8192, KvCacheSpec? kv = null, double? rate = null, double kvBytesPerToken = 131072) => new()
    {
        Id = "t",
        Kind = WorkloadKind.Serving,
        Description = "t",
        Model = new ModelSpec("m", 8e9, 2, kvBytesPerToken, 32),
        Requests = new RequestMix(LengthDistribution.Fixed(16), LengthDistribution.Fixed(16), 4, 0, rate),
        Batching = new BatchingSpec(256, budget, chunked),
        KvCache = kv,
    };

    private static List<StepDecision> Drain(BatchScheduler s)
    {
        var steps = new List<StepDecision>();
        for (var d = s.Next(0); !d.Done; d = s.Next(0))
        {
            Assert.True(d.IsStep);
            steps.Add(d);
        }

        return steps;
    }

    [Fact]
    public void Prefill_then_decodes_with_chunked_prefill()
    {
        var s = new BatchScheduler(Mix(), 2, [(0, 10, 3), (0, 10, 3)]);
        var steps = Drain(s);

        // Step 0 prefills both prompts (and samples their first tokens); steps 1 and 2 decode one token each.
        Assert.Equal([new StepLoad(2, 20, 20, 20), new StepLoad(2, 2, 22, 0), new StepLoad(2, 2, 24, 0)], steps.Select(d => d.Load));
        Assert.All(s.All, r => Assert.Equal((0, 2), (r.FirstTokenStep, r.LastStep)));
    }

    [Fact]
    public void Closed_loop_keeps_the_concurrency_and_admits_as_requests_leave()
    {
        var s = new BatchScheduler(Mix(), 2, [(0, 4, 2), (0, 4, 2), (0, 4, 2), (0, 4, 2), (0, 4, 2)]);
        var steps = Drain(s);
        Assert.Equal(6, steps.Count);
        Assert.All(steps, d => Assert.InRange(d.Load.Sequences, 1, 2));
        Assert.Equal([0, 0, 2, 2, 4], s.All.Select(r => r.FirstTokenStep));
        Assert.Equal(10, s.All.Sum(r => r.Generated));
    }

    [Theory]
    [InlineData(false, 1, 4)]
    [InlineData(true, 2, 5)]
    public void Without_chunked_prefill_a_new_prompt_gets_a_step_of_its_own(bool chunked, int sequences, int tokens)
    {
        // A leaves after step 1; C joins at step 2. vLLM V0 gives prefills precedence: B does not decode in that step.
        var s = new BatchScheduler(Mix(chunked), 2, [(0, 4, 2), (0, 4, 5), (0, 4, 2)]);
        var step2 = Drain(s)[2].Load;
        Assert.Equal((sequences, tokens, 4), (step2.Sequences, step2.Tokens, step2.PrefillTokens));
    }

    [Fact]
    public void A_long_prompt_is_prefilled_in_chunks_of_the_token_budget()
    {
        var s = new BatchScheduler(Mix(budget: 40), 1, [(0, 100, 1)]);
        Assert.Equal([40, 40, 20], Drain(s).Select(d => d.Load.PrefillTokens));
        Assert.Equal(2, s.All[0].FirstTokenStep);
    }

    [Fact]
    public void A_full_kv_cache_swaps_the_newest_request_out_and_back_in()
    {
        // 4-token blocks of 1000 B; 5 blocks. Both requests reach 8 tokens in 2 blocks each; at step 5 A takes the last
        // free block for its 9th token and B, the newest, is swapped out (2 blocks), then back in once A is done.
        var kv = new KvCacheSpec(KvStyle.Vllm, 4, 5 * 4000, 1e9);
        var s = new BatchScheduler(Mix(kv: kv, kvBytesPerToken: 1000), 2, [(0, 4, 6), (0, 4, 6)]);
        var steps = Drain(s);
        Assert.Equal(7, steps.Count);
        Assert.Equal((2, 0, 1), (steps[5].SwapOutBlocks, steps[5].SwapInBlocks, steps[5].Load.Sequences));
        Assert.Equal((0, 2), (steps[6].SwapOutBlocks, steps[6].SwapInBlocks));
        Assert.Equal((1, 0, 2L, 2L), (s.Preemptions, s.Recomputes, s.SwapOutBlocks, s.SwapInBlocks));
        Assert.Equal(12, s.All.Sum(r => r.Generated));
    }

    [Fact]
    public void Without_host_room_a_preempted_request_is_recomputed()
    {
        var kv = new KvCacheSpec(KvStyle.Vllm, 4, 5 * 4000, 0);
        var s = new BatchScheduler(Mix(kv: kv, kvBytesPerToken: 1000), 2, [(0, 4, 6), (0, 4, 6)]);
        var steps = Drain(s);
        Assert.Equal((1, 1, 0L), (s.Preemptions, s.Recomputes, s.SwapOutBlocks));

        // B prefills its prompt and its five tokens again (9 tokens) and samples its sixth.
        Assert.Equal(9, steps[6].Load.PrefillTokens);
        Assert.Equal(12, s.All.Sum(r => r.Generated));
    }

    [Fact]
    public void Open_loop_idles_until_the_next_arrival()
    {
        var s = new BatchScheduler(Mix(rate: 1), 1, [(5e5, 8, 2), (3e6, 8, 2)]);
        var first = s.Next(0);
        Assert.Equal(5e5, first.IdleUntil);
        Assert.True(s.Next(5e5).IsStep);
        Assert.True(s.Next(5e5 + 10).IsStep);
        Assert.Equal(3e6, s.Next(6e5).IdleUntil);
    }

    [Fact]
    public void Open_loop_run_waits_for_arrivals_and_measures_ttft_from_them()
    {
        var p = PlatformCatalog.Resolve("h100-tdx");
        var w = Mix(rate: 0.1);
        var r = ScenarioRunner.Run(p, w, false, 1);
        Assert.NotNull(r.Serving);
        Assert.Equal(4, r.Serving.Requests);
        Assert.True(r.Sim.Main.Waiting > 0, "the engine idles between arrivals");

        // At 0.1 req/s a request (0.2 s of work) never finds another one running: TTFT is its prefill step and launch.
        var prefill = new LayerPlanner(w, p, false).StepMicros(new StepLoad(1, 16, 16, 16));
        Assert.InRange(r.Serving.MeanTtftMicros, prefill, prefill + 10);
        Assert.True(ScenarioRunner.Run(p, w, true, 1).Serving!.MeanTtftMicros > r.Serving.MeanTtftMicros);
    }

    [Fact]
    public void Same_seed_same_mix_other_seed_other_mix()
    {
        var w = WorkloadCatalog.Parse(MixYaml, "m.yaml");
        var a = new BatchScheduler(w, 4, 1);
        var b = new BatchScheduler(w, 4, 1);
        var c = new BatchScheduler(w, 4, 2);
        Drain(a);
        Drain(b);
        Drain(c);
        Assert.Equal(a.All.Select(r => r.Prompt), b.All.Select(r => r.Prompt));
        Assert.NotEqual(a.All.Select(r => r.Prompt), c.All.Select(r => r.Prompt));
        Assert.All(a.All, r => Assert.InRange(r.Prompt, 4, 400));
    }

    [Theory]
    [InlineData("val-h200-llama8b-offline", "h200-tdx", 256)]
    [InlineData("val-h200-llama8b-qps4-ttft", "h200-tdx", 1)]
    public void Cc_off_measurement_is_reproduced_by_scaling_gpu_time(string id, string platform, int c)
    {
        var w = WorkloadCatalog.Resolve(id);
        var target = w.MeasuredOff!;
        var run = ScenarioRunner.Run(PlatformCatalog.Resolve(platform), w, false, c);
        var got = target.Kind == ServingTargetKind.TtftMillis ? run.Serving!.MeanTtftMicros / 1e3 : run.Serving!.Requests / (run.MakespanMicros / 1e6);
        Assert.Equal(target.Value, got, target.Value * 1e-3);
    }

    [Theory]
    [InlineData("  count: 8\n", "  count: 0\n", "requests.count")]
    [InlineData("output_tokens: { mean: 16 }", "output_tokens: { dist: uniform, mean: 16, min: 1, max: 100 }", "output_tokens.mean")]
    [InlineData("output_tokens: { mean: 16 }", "output_tokens: { mean: 16, sigma: 1 }", "output_tokens")]
    [InlineData("sigma: 0.5, min: 4", "sigma: 0.5, min: 500", "prompt_tokens.max")]
    [InlineData("dist: lognormal", "dist: gamma", "prompt_tokens.dist")]
    [InlineData("concurrency: [4]", "concurrency: [4]\nsteps: 10", "requests")]
    [InlineData("  count: 8\n", "  count: 8\n  arrival_rate: 2\n", "concurrency")]
    [InlineData("concurrency: [4]", "concurrency: [4]\nmeasured_off: { requests_per_s: 1, ttft_ms: 5 }", "measured_off")]
    [InlineData("concurrency: [4]", "concurrency: [4]\nkv_cache: { style: vllm, block_tokens: 16, gpu_cache_bytes: 1e6 }", "gpu_cache_bytes")]
    [InlineData("concurrency: [4]", "concurrency: [4]\nkv_cache: { style: lmcache, block_tokens: 16, gpu_cache_bytes: 1e10 }", "kv_cache.style")]
    [InlineData("concurrency: [4]", "concurrency: [4]\nbatching: { max_num_seqs: 0 }", "batching.max_num_seqs")]
    public void Bad_request_mix_names_the_field(string from, string to, string field)
    {
        var e = Assert.Throws<BridgeInputException>(() => WorkloadCatalog.Parse(MixYaml.Replace(from, to, StringComparison.Ordinal), "m.yaml"));
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void A_request_mix_needs_a_model_and_a_kv_cache_needs_a_mix()
    {
        var noModel = MixYaml.Replace("model: { name: x, parameters: 8e9, bytes_per_param: 2, kv_bytes_per_token: 131072, layers: 32 }", "step_compute_us: 100", StringComparison.Ordinal);
        Assert.Contains("needs a model", Assert.Throws<BridgeInputException>(() => WorkloadCatalog.Parse(noModel, "m.yaml")).Message);
        var noMix = "id: k\nkind: serving\ndescription: d\nmodel: { name: x, parameters: 8e9, bytes_per_param: 2, kv_bytes_per_token: 1 }\nkv_cache: { style: vllm, block_tokens: 16, gpu_cache_bytes: 1e9 }\n";
        Assert.Contains("request mix", Assert.Throws<BridgeInputException>(() => WorkloadCatalog.Parse(noMix, "k.yaml")).Message);
    }
}
