using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Snp;
using Veil.Protocol.Client;
using Veil.Protocol.Jose;

namespace Veil.Bench.BrokerHandshake;

/// <summary>
/// The cryptography one handshake cannot do without, timed on one thread through .NET's OpenSSL binding with no
/// transport, parsing or storage at all: the report's P-384 verify (VCEK key already imported, as the broker's chain
/// cache does), the tee key's import with its point check, the JWE (key generation, ECDH, Concat KDF, AES-KW,
/// AES-GCM), the token's ES256 signature and its verification at /resource. 1 ÷ this time is the most handshakes
/// per second any broker built on this runtime could do on the core, so (that rate ÷ openssl's verify/s) bounds the
/// benchmark's ratio from above.
/// </summary>
internal static class CryptoCeiling
{
    public static int Run(string evidencePath, int seconds)
    {
        var (reportBytes, certificates) = TrusteeSnpEvidence.Parse(File.ReadAllBytes(evidencePath));
        var report = SnpReport.Parse(reportBytes);
        using var vcek = certificates[0].GetECDsaPublicKey() ?? throw new InvalidOperationException("no VCEK key");
        var signature = ReportSignature(report);

        using var tokenKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var tee = TeeKey.CreateEc();
        var teeJwk = tee.PublicJson;
        var secret = new byte[32];
        var tokenInput = new byte[1200];

        void One()
        {
            if (!vcek.VerifyData(report.SignedBytes, signature, HashAlgorithmName.SHA384))
            {
                throw new InvalidOperationException("report signature did not verify");
            }

            var tokenSignature = tokenKey.SignData(tokenInput, HashAlgorithmName.SHA256);
            if (!tokenKey.VerifyData(tokenInput, tokenSignature, HashAlgorithmName.SHA256))
            {
                throw new InvalidOperationException("token signature did not verify");
            }

            var recipient = Jwk.Parse(teeJwk, "tee-pubkey", checkPoint: false); // the import below checks the point
            using var imported = recipient.CreateEcdh();
            _ = Jwe.Encrypt(secret, recipient, imported);
        }

        for (var i = 0; i < 200; i++)
        {
            One();
        }

        var n = 0;
        var stopAt = Stopwatch.GetTimestamp() + (seconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            One();
            n++;
        }

        var perSecond = n / Stopwatch.GetElapsedTime(started).TotalSeconds;
        var tokenSignatureOnce = tokenKey.SignData(tokenInput, HashAlgorithmName.SHA256);
        var recipientOnce = Jwk.Parse(teeJwk);
        using var importedOnce = recipientOnce.CreateEcdh();
        var parts = string.Join(' ', new (string Name, Action Op)[]
        {
            ("p384_verify", () => vcek.VerifyData(report.SignedBytes, signature, HashAlgorithmName.SHA384)),
            ("es256_sign", () => tokenKey.SignData(tokenInput, HashAlgorithmName.SHA256)),
            ("es256_verify", () => tokenKey.VerifyData(tokenInput, tokenSignatureOnce, HashAlgorithmName.SHA256)),
            ("tee_key_import", () => { using var k = Jwk.Parse(teeJwk, "tee-pubkey", checkPoint: false).CreateEcdh(); }),
            ("jwe", () => Jwe.Encrypt(secret, recipientOnce, importedOnce)),
        }.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Name}_us={Time(p.Op):F1}")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"crypto_us={1e6 / perSecond:F1} crypto_per_s={perSecond:F1} ({parts})"));
        return 0;
    }

    private static double Time(Action op)
    {
        for (var i = 0; i < 50; i++)
        {
            op();
        }

        var n = 0;
        var started = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(started).TotalSeconds < 1)
        {
            op();
            n++;
        }

        return Stopwatch.GetElapsedTime(started).TotalMicroseconds / n;
    }

    /// <summary>The report's R and S (72 bytes little-endian each) as the 96-byte P1363 signature .NET verifies.</summary>
    internal static byte[] ReportSignature(SnpReport report)
    {
        var signature = new byte[96];
        for (var i = 0; i < 48; i++)
        {
            signature[i] = report.SignatureR.Span[47 - i];
            signature[48 + i] = report.SignatureS.Span[47 - i];
        }

        return signature;
    }
}
