namespace Veil.Cli.Tests;

/// <summary>Runs the real command tree in-process and captures what a user would see.</summary>
internal static class CliRunner
{
    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = VeilCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
