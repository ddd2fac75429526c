using System.CommandLine;
using Veil.Cli.Commands;

namespace Veil.Cli;

/// <summary>The <c>veil</c> command tree. Each verb group lives in its own file under Commands/.</summary>
internal static class VeilCli
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("Veil: attestation, key release and GPU placement for confidential AI inference.");
        root.Add(VerifyCommands.Create());
        root.Add(EventLogCommands.Create());
        root.Add(TopologyCommands.Create());
        root.Add(BrokerCommands.Create());
        root.Add(ResourceCommands.Create());
        root.Add(AuditCommands.Create());
        root.Add(BridgeCommands.Create());
        root.Add(MeasureCommands.Create());
        root.Add(PolicyCommands.Create());
        root.Add(PolicyCommands.CreateAppraise());
        root.Add(PolicyCommands.CreateRefValue());
        root.Add(SealCommands.Create());
        root.Add(SealCommands.CreateUnseal());
        root.Add(SealCommands.CreateRekey());
        root.Add(QuickstartCommands.Create());
        root.Add(KubernetesCommands.CreateAdmission());
        root.Add(KubernetesCommands.CreateK8s());
        root.Add(AttestedTlsCommands.CreateGateway());
        root.Add(AttestedTlsCommands.CreateConnect());
        return root;
    }

    /// <summary>Parses and runs; bad usage is exit code 2, as for unreadable input.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var parse = BuildRoot().Parse(args);
        if (parse.Errors.Count > 0)
        {
            if (TypoSuggestion.For(parse) is { } suggestion)
            {
                // The other errors ("Required command was not provided", the tokens after the typo) follow from it.
                error.WriteLine(suggestion);
            }
            else
            {
                foreach (var e in parse.Errors)
                {
                    error.WriteLine($"veil: {e.Message}");
                }
            }

            error.WriteLine($"Run '{TypoSuggestion.CommandPath(parse)} --help' for usage.");
            return ExitCodes.Usage;
        }

        return parse.Invoke(new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Our actions catch their own errors (CliErrors.Guard); never print a stack trace.
            EnableDefaultExceptionHandler = false,
        });
    }
}
