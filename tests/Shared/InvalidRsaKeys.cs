using System.Security.Cryptography;
using System.Text.Json;

namespace Veil.Tests.Shared;

/// <summary>
/// RSA JWKs a broker must not encrypt to (issue 16's list), each with the member and the words of its refusal;
/// shared by the protocol's unit tests and the broker's /attest tests.
/// </summary>
internal static class InvalidRsaKeys
{
    public static string B64Url(ReadOnlySpan<byte> b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static JsonElement Jwk(string n, string e)
    {
        using var doc = JsonDocument.Parse($"{{\"kty\":\"RSA\",\"alg\":\"RSA-OAEP-256\",\"n\":\"{n}\",\"e\":\"{e}\"}}");
        return doc.RootElement.Clone();
    }

    public static IEnumerable<(string Name, JsonElement Jwk, string Field, string Words)> All()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        var n = B64Url(p.Modulus);
        var even = (byte[])p.Modulus!.Clone();
        even[^1] &= 0xFE;
        var pow2 = new byte[256];
        pow2[0] = 0x80;
        var huge = RandomNumberGenerator.GetBytes(2048);
        huge[0] |= 0x80;
        huge[^1] |= 1;
        using var small = RSA.Create(1024);
        yield return ("e=1", Jwk(n, "AQ"), "tee-pubkey.e", "must be 65537");
        yield return ("e=2", Jwk(n, "Ag"), "tee-pubkey.e", "must be 65537");
        yield return ("e=3", Jwk(n, "Aw"), "tee-pubkey.e", "must be 65537");
        yield return ("e=n", Jwk(n, n), "tee-pubkey.e", "must be 65537");
        yield return ("even modulus", Jwk(B64Url(even), "AQAB"), "tee-pubkey.n", "is even");
        yield return ("n=2^2047", Jwk(B64Url(pow2), "AQAB"), "tee-pubkey.n", "is even");
        yield return ("16384-bit", Jwk(B64Url(huge), "AQAB"), "tee-pubkey.n", "16384 bits is outside the accepted 2048 to 8192 bits");
        yield return ("1024-bit", Jwk(B64Url(small.ExportParameters(false).Modulus), "AQAB"), "tee-pubkey.n", "1024 bits is outside");
    }
}
