using Veil.Tests.Shared;

namespace Veil.Attestation.Tests.Tdx;

/// <summary>Mutated quotes, collateral, CRLs and event logs never escape as anything but a named error.</summary>
public class TdxFuzzTests
{
    [Fact]
    public void Mutated_inputs_give_named_errors_only()
    {
        var report = new MutationFuzzer(TdxFuzzSeeds.All(), seed: 3).Run(TdxFuzzSeeds.Target, _ => false, maxInputs: 200_000, budget: TimeSpan.FromSeconds(4));
        Assert.True(report.Inputs > 500, $"only {report.Inputs} inputs ran");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message} ({c.Input.Length} bytes)")));
    }
}
