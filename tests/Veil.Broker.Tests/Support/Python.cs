using System.Diagnostics;

namespace Veil.Broker.Tests.Support;

/// <summary>Runs a Python script (python3-jwcrypto signs the EdDSA admin tokens, an implementation independent of ours).</summary>
internal static class Python
{
    /// <summary>The script's non-empty output lines; fails the test with its stderr when it exits non-zero.</summary>
    public static string[] Lines(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        var error = stderr.GetAwaiter().GetResult();
        p.WaitForExit();
        Xunit.Assert.True(p.ExitCode == 0, "python3-jwcrypto failed: " + error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
