using System.Diagnostics;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using Veil.Broker.KeyWrapping;

namespace Veil.Broker.Tests.Support;

/// <summary>
/// The throwaway SoftHSM2 token that ./scripts/test makes (scripts/softhsm init) and hands over in
/// <see cref="DirVariable"/>, with SOFTHSM2_CONF in this process's environment (the module reads it when it loads,
/// and .NET cannot change a native process's environment afterwards). Without them a PKCS#11 test fails, naming
/// what to do. Tests add key objects of their own (unique labels), so they never share one.
/// </summary>
internal static class SoftHsmToken
{
    public const string DirVariable = "VEIL_TEST_SOFTHSM_DIR";

    public static string Dir
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable(DirVariable);
            var conf = Environment.GetEnvironmentVariable("SOFTHSM2_CONF");
            if (string.IsNullOrWhiteSpace(dir) || string.IsNullOrWhiteSpace(conf) || !File.Exists(Path.Combine(dir, "uri")))
            {
                throw new InvalidOperationException(
                    $"{DirVariable} and SOFTHSM2_CONF are not set: run ./scripts/test (it makes a throwaway token with scripts/softhsm), or " +
                    $"'scripts/softhsm init DIR' and export {DirVariable}=DIR SOFTHSM2_CONF=DIR/softhsm2.conf");
            }

            SecretLedger.Add("token PIN", Pin);
            return dir;
        }
    }

    public static string TokenLabel => File.ReadAllText(Path.Combine(Dir, "token")).Trim();

    public static string PinFile => Path.Combine(Environment.GetEnvironmentVariable(DirVariable)!, "pin");

    public static string Pin => File.ReadAllText(PinFile).Trim();

    public static string ModulePath => Script("module").Trim();

    /// <summary>The URI of key <paramref name="label"/> in the suite's token, PIN from its file.</summary>
    public static string Uri(string label) => $"pkcs11:token={TokenLabel};object={label}?module-path={ModulePath}&pin-source=file:{PinFile}";

    /// <summary>A new sensitive, never-extractable AES-256 key made by scripts/softhsm (as an operator would).</summary>
    public static string NewKey(string prefix)
    {
        var label = prefix + "-" + Guid.NewGuid().ToString("N")[..12];
        Script("key", Dir, label);
        return label;
    }

    /// <summary>Runs scripts/softhsm; a failure fails the test with its output.</summary>
    public static string Script(params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(PostgresTestServer.RepoRoot, "scripts", "softhsm")) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/softhsm {args[0]} failed ({p.ExitCode}): {error}");
        }

        return output.Result;
    }

    /// <summary>
    /// A logged-in read-write session on the suite's token through the process's shared module, for what a test does
    /// to the token directly (try to read a key out, make a key with other attributes).
    /// </summary>
    public static void WithSession(Action<ISession, Pkcs11InteropFactories> work)
    {
        var path = ModulePath;
        var library = Pkcs11Modules.Acquire(path);
        try
        {
            var slot = library.GetSlotList(SlotsType.WithTokenPresent).Single(s => s.GetTokenInfo().Label == TokenLabel);
            using var session = slot.OpenSession(SessionType.ReadWrite);
            try
            {
                session.Login(CKU.CKU_USER, Pin);
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
            {
                // A broker in this process logged in to the token already.
            }

            work(session, Pkcs11Modules.Factories);
        }
        finally
        {
            Pkcs11Modules.Release(path, library);
        }
    }

    public static IObjectHandle FindKey(ISession session, Pkcs11InteropFactories f, string label) => session.FindAllObjects(
    [
        f.ObjectAttributeFactory.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
        f.ObjectAttributeFactory.Create(CKA.CKA_LABEL, label),
    ]).Single();
}
