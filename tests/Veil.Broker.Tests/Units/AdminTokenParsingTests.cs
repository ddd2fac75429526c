using System.Security.Cryptography;
using System.Text;
using Veil.Broker.Admin;

namespace Veil.Broker.Tests.Units;

/// <summary>Admin tokens are read before their signature is checked, so their header must not be able to crash the reader.</summary>
public sealed class AdminTokenParsingTests
{
    private static string B64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Task<string?> Validate(byte[] header, byte[] payload)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return AdminTokens.ValidateAsync($"{B64Url(header)}.{B64Url(payload)}.{B64Url(new byte[64])}", [key], [], TimeProvider.System);
    }

    [Fact]
    public async Task A_signed_looking_token_with_a_wrong_signature_is_refused_as_such()
    {
        var reason = await Validate("""{"alg":"ES256","typ":"JWT"}"""u8.ToArray(), """{"role":"admin","iss":"veil-admin"}"""u8.ToArray());
        Assert.NotNull(reason);
        Assert.DoesNotContain("malformed", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_alg_keys_are_a_malformed_token()
    {
        Assert.Equal("admin token is malformed (expected a compact JWT)",
            await Validate("""{"alg":"none","alg":"ES256"}"""u8.ToArray(), """{"role":"admin"}"""u8.ToArray()));
        Assert.Equal("admin token is malformed (expected a compact JWT)",
            await Validate("""{"alg":"ES256"}"""u8.ToArray(), """{"role":"admin","role":"admin"}"""u8.ToArray()));
    }

    [Fact]
    public async Task Invalid_utf8_in_the_header_is_a_malformed_token()
    {
        var header = Encoding.UTF8.GetBytes("""{"alg":"ES25X"}""");
        header[Array.IndexOf(header, (byte)'X')] = 0xC3;
        Assert.Equal("admin token is malformed (expected a compact JWT)", await Validate(header, """{"role":"admin"}"""u8.ToArray()));
    }
}
