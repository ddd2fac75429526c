using System.CommandLine;

namespace Veil.Cli.Commands;

/// <summary><c>veil verify &lt;tee&gt;</c>: one sub-verb per evidence kind, all with the same exit codes and JSON shape.</summary>
internal static class VerifyCommands
{
    public static Command Create()
    {
        var verify = new Command("verify", "Verify attestation evidence offline against the vendors' roots.");
        verify.Add(SnpVerifyCommand.Create());
        verify.Add(GpuVerifyCommand.Create());
        verify.Add(TdxVerifyCommand.Create());
        verify.Add(AzureVtpmVerifyCommand.Snp());
        verify.Add(AzureVtpmVerifyCommand.Tdx());
        return verify;
    }
}
