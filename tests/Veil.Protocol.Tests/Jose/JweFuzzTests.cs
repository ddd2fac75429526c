using System.Security.Cryptography;
using System.Text;
using Veil.Protocol.Client;
using Veil.Protocol.Jose;
using Veil.Protocol.Messages;
using Veil.Tests.Shared;

namespace Veil.Protocol.Tests.Jose;

/// <summary>
/// What the agent reads from a broker it has not yet any reason to trust: mutated challenges, attestation answers and
/// JWEs give a <see cref="ProtocolFormatException"/> or a <see cref="CryptographicException"/>, and a mutated JWE
/// never decrypts.
/// </summary>
public class JweFuzzTests
{
    [Fact]
    public void Mutated_broker_answers_only_ever_give_named_errors()
    {
        using var ec = TeeKey.CreateEc();
        using var rsa = TeeKey.CreateRsa();
        var secret = "model-kek-0123456789abcdef012345"u8.ToArray();
        byte[][] seeds =
        [
            Jwe.Encrypt(secret, ec.PublicJwk).ToUtf8(),
            Jwe.Encrypt(secret, rsa.PublicJwk).ToUtf8(),
            """{"nonce":"q83vEjRWeJA=","extra-params":""}"""u8.ToArray(),
            """{"token":"eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}"""u8.ToArray(),
        ];
        var decrypted = 0;
        var report = new MutationFuzzer(seeds, seed: 8785).Run(
            input =>
            {
                try
                {
                    var jwe = FlattenedJwe.Parse(input);
                    var plain = ec.Decrypt(jwe);
                    if (!seeds.Any(s => s.AsSpan().SequenceEqual(input)))
                    {
                        throw new InvalidOperationException($"a mutated JWE decrypted to {plain.Length} bytes");
                    }

                    decrypted++;
                }
                catch (CryptographicException)
                {
                    // Tag or key-wrap check failed: the expected end of a mutated JWE.
                }

                try
                {
                    _ = rsa.Decrypt(FlattenedJwe.Parse(input));
                }
                catch (CryptographicException)
                {
                }
            },
            e => e is ProtocolFormatException,
            maxInputs: 20_000,
            budget: TimeSpan.FromSeconds(4));

        Assert.True(report.Inputs > 1_000, $"only {report.Inputs} inputs ran");
        Assert.True(report.CrashCount == 0, string.Join("\n", report.Crashes.Take(3).Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message} <- {Encoding.UTF8.GetString(c.Input)[..Math.Min(160, c.Input.Length)]}")));
        Assert.True(decrypted < report.Inputs / 2);

        var challenges = new MutationFuzzer(seeds, seed: 7516).Run(
            input =>
            {
                try
                {
                    _ = KbsChallenge.Parse(input);
                }
                finally
                {
                    try
                    {
                        _ = AttestResponse.ParseToken(input);
                    }
                    catch (ProtocolFormatException)
                    {
                    }
                }
            },
            e => e is ProtocolFormatException,
            maxInputs: 20_000,
            budget: TimeSpan.FromSeconds(2));
        Assert.True(challenges.CrashCount == 0, string.Join("\n", challenges.Crashes.Take(3).Select(c => $"{c.Exception.GetType().Name}: {c.Exception.Message}")));
    }
}
