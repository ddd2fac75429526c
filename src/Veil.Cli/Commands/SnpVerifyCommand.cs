using System.CommandLine;

namespace Veil.Cli.Commands;

internal static class SnpVerifyCommand
{
    public static Command Create() => new("snp", "Verify an AMD SEV-SNP attestation report.");
}
