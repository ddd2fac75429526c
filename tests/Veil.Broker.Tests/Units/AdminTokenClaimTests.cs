using System.Security.Cryptography;
using System.Text;
using Veil.Broker.Admin;

namespace Veil.Broker.Tests.Units;

/// <summary>
/// Admin token claims, signed for real (ES256 with a fresh key): out-of-range and wrongly typed claims are refused with a
/// reason naming the claim, never an exception; role and aud follow one rule.
/// </summary>
public sealed class AdminTokenClaimTests : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public void Dispose() => _key.Dispose();

    internal static string Sign(ECDsa key, string payloadJson, string alg = "ES256")
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var signingInput = B64(Encoding.UTF8.GetBytes($"{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}")) + "." + B64(Encoding.UTF8.GetBytes(payloadJson));
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + B64(signature);
    }

    private static long Hour => DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();

    private Task<string?> Validate(string payload, string? audience = null) =>
        AdminTokens.ValidateAsync(Sign(_key, payload), [_key], [], TimeProvider.System, audience);

    [Theory]
    [InlineData("\"exp\":1e20", "admin token claim 'exp' is not a NumericDate")]
    [InlineData("\"exp\":-1e20", "admin token claim 'exp' is not a NumericDate")]
    [InlineData("\"exp\":253402300800", "admin token claim 'exp' is not a NumericDate")]
    [InlineData("\"exp\":\"tomorrow\"", "admin token claim 'exp' is not a NumericDate")]
    [InlineData("\"exp\":null", "admin token has no expiry ('exp')")]
    [InlineData("\"exp\":{HOUR},\"nbf\":1e300", "admin token claim 'nbf' is not a NumericDate")]
    [InlineData("\"exp\":{HOUR},\"nbf\":-62135596801", "admin token claim 'nbf' is not a NumericDate")]
    [InlineData("\"exp\":{HOUR},\"iat\":\"now\"", "admin token claim 'iat' is not a NumericDate")]
    [InlineData("\"exp\":{HOUR},\"role\":5", "admin token claim 'role' must be a string")]
    [InlineData("\"exp\":{HOUR},\"role\":[\"admin\"]", "admin token claim 'role' must be a string")]
    [InlineData("\"exp\":{HOUR},\"role\":\"user\"", "admin token's role 'user' is not a role this broker knows")]
    [InlineData("\"exp\":{HOUR},\"sub\":{}", "admin token claim 'sub' must be a string")]
    [InlineData("\"exp\":{HOUR},\"aud\":5", "admin token claim 'aud' must be a string or an array of strings")]
    [InlineData("\"role\":\"admin\"", "admin token has no expiry ('exp')")]
    [InlineData("\"exp\":1000", "admin token expired at 1970-01-01T00:16:40.0000000+00:00")]
    public async Task Refused_with_the_claim_named(string claims, string reason)
    {
        var payload = "{\"iss\":\"veil-admin\"," + claims.Replace("{HOUR}", Hour.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) + "}";
        Assert.StartsWith(reason, await Validate(payload), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Role_admin_or_no_role_is_accepted_and_a_future_nbf_is_not_yet_valid()
    {
        Assert.Null(await Validate($"{{\"iss\":\"veil-admin\",\"role\":\"admin\",\"exp\":{Hour}}}"));
        Assert.Null(await Validate($"{{\"iss\":\"veil-admin\",\"exp\":{Hour}.5}}"));
        Assert.StartsWith("admin token is not valid before", await Validate($"{{\"iss\":\"veil-admin\",\"exp\":{Hour},\"nbf\":{Hour - 60}}}"), StringComparison.Ordinal);
        // The broker's own tokens carry role admin and pass.
        Assert.Null(await AdminTokens.ValidateAsync(AdminTokens.Create(_key, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), [_key], [], TimeProvider.System));
    }

    [Fact]
    public async Task Aud_is_checked_only_when_the_broker_has_an_audience()
    {
        Assert.Null(await Validate($"{{\"iss\":\"veil-admin\",\"exp\":{Hour}}}"));
        Assert.Equal("admin token has no audience ('aud'); this broker requires 'veil-broker'", await Validate($"{{\"iss\":\"veil-admin\",\"exp\":{Hour}}}", "veil-broker"));
        Assert.Equal("admin token's audience ('aud') does not include 'veil-broker'", await Validate($"{{\"iss\":\"veil-admin\",\"exp\":{Hour},\"aud\":\"other\"}}", "veil-broker"));
        Assert.Null(await Validate($"{{\"iss\":\"veil-admin\",\"exp\":{Hour},\"aud\":[\"x\",\"veil-broker\"]}}", "veil-broker"));
        Assert.Null(await Validate($"{{\"iss\":\"veil-admin\",\"exp\":{Hour},\"aud\":\"veil-broker\"}}", "veil-broker"));
        Assert.Null(await AdminTokens.ValidateAsync(AdminTokens.Create(_key, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5), audience: "veil-broker"), [_key], [], TimeProvider.System, "veil-broker"));
    }

    [Fact]
    public async Task A_wrongly_typed_alg_is_named_not_thrown()
    {
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var token = B64("{\"alg\":5}") + "." + B64($"{{\"exp\":{Hour}}}") + "." + B64("sig");
        Assert.Equal("admin token algorithm 'none' is not accepted (ES256 or EdDSA)", await AdminTokens.ValidateAsync(token, [_key], [], TimeProvider.System));
    }
}
