using System.Diagnostics;
using System.Security.Cryptography;
using Veil.Protocol.Jose;

namespace Veil.Protocol.Tests.Interop;

/// <summary>A JWE made by Veil is decrypted by python3-jwcrypto (installed by scripts/prereqs).</summary>
public sealed class JwcryptoInteropTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("veil-jwe-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("P-256")]
    [InlineData("P-521")]
    public void Jwcrypto_decrypts_ecdh_es_a256kw(string crv)
    {
        using var key = ECDiffieHellman.Create(crv == "P-256" ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP521);
        var p = key.ExportParameters(true);
        var jwk = $$"""{"kty":"EC","crv":"{{crv}}","x":"{{Base64UrlText.Encode(p.Q.X)}}","y":"{{Base64UrlText.Encode(p.Q.Y)}}","d":"{{Base64UrlText.Encode(p.D)}}"}""";
        AssertDecrypts(jwk, Jwk.FromEcdh(key));
    }

    [Fact]
    public void Jwcrypto_decrypts_rsa_oaep_256()
    {
        using var key = RSA.Create(2048);
        var p = key.ExportParameters(true);
        string B(byte[]? v) => Base64UrlText.Encode(v);
        var jwk = $$"""{"kty":"RSA","n":"{{B(p.Modulus)}}","e":"{{B(p.Exponent)}}","d":"{{B(p.D)}}","p":"{{B(p.P)}}","q":"{{B(p.Q)}}","dp":"{{B(p.DP)}}","dq":"{{B(p.DQ)}}","qi":"{{B(p.InverseQ)}}"}""";
        AssertDecrypts(jwk, Jwk.FromRsa(key));
    }

    private void AssertDecrypts(string privateJwk, Jwk recipient)
    {
        var plaintext = RandomNumberGenerator.GetBytes(77);
        var keyFile = Path.Combine(_dir, "key.json");
        var jweFile = Path.Combine(_dir, "jwe.json");
        File.WriteAllText(keyFile, privateJwk);
        File.WriteAllBytes(jweFile, Jwe.Encrypt(plaintext, recipient).ToUtf8());

        // Debian's interpreter: python3-jwcrypto is installed for it (a pyenv python3 earlier on PATH lacks it).
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Interop", "jwcrypto_decrypt.py"));
        psi.ArgumentList.Add(keyFile);
        psi.ArgumentList.Add(jweFile);
        using var proc = Process.Start(psi)!;
        var stdout = proc.StandardOutput.ReadToEnd();
        var stderr = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        Assert.True(proc.ExitCode == 0, "jwcrypto failed: " + stderr);
        Assert.Equal(Convert.ToHexStringLower(plaintext), stdout.Trim());
    }
}
