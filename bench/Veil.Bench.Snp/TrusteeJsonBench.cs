using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation;
using Veil.Attestation.Snp;

/// <summary>
/// What verifying Trustee's SNP evidence JSON (the broker's input: report as sev-crate JSON, VCEK inside) costs in
/// units of one ECDSA P-384 verification, both timed in this process: the reference is .NET's ECDsa.VerifyData over
/// the report's signed bytes with the VCEK's key (SHA-384 and the verification, nothing else). With the chain cached
/// that verification is the only asymmetric operation a report needs; everything above it is parsing and checks.
/// The two sides alternate in batches of a few milliseconds (see PairedTiming), after a warm-up that lets tiered JIT
/// settle; the median of the per-cycle quotients is reported.
/// </summary>
internal static class TrusteeJsonBench
{
    /// <param name="raw">Instead of Trustee's JSON, the raw Genoa report of snp-verify with its VCEK and ASK given as files.</param>
    public static async Task<int> Run(string vectors, double seconds, bool raw = false)
    {
        byte[] input;
        SnpVerifier verifier;
        X509Certificate2 vcek;
        if (raw)
        {
            var ms = Path.Combine(vectors, "TEE-Attestation-Verification", "tests-test_data");
            input = File.ReadAllBytes(Path.Combine(ms, "genoa_attestation_report.bin"));
            vcek = Certificates.LoadOne(File.ReadAllBytes(Path.Combine(ms, "genoa_vcek.pem")), "vcek");
            var chain = Certificates.Load(File.ReadAllBytes(Path.Combine(ms, "genoa_ask.pem")), "ask");
            verifier = new SnpVerifier(SnpCollateralSources.Files(vcek, chain), new FixedTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z", CultureInfo.InvariantCulture)));
        }
        else
        {
            input = File.ReadAllBytes(Path.Combine(vectors, "trustee", "attestation-service", "tests", "e2e", "evidence.json"));
            verifier = new SnpVerifier(SnpCollateralSources.Embedded(), new FixedTimeProvider(DateTimeOffset.Parse("2025-06-01T00:00:00Z", CultureInfo.InvariantCulture)));
            vcek = SnpEvidence.Parse(input).Certificates[0];
        }

        var evidence = SnpEvidence.Parse(input);
        var what = raw ? "raw report verification" : "Trustee JSON verification";
        using var key = vcek.GetECDsaPublicKey()!;
        var signature = new byte[96];
        evidence.Report.SignatureR.Span[..48].CopyTo(signature);
        evidence.Report.SignatureS.Span[..48].CopyTo(signature.AsSpan(48));
        signature.AsSpan(0, 48).Reverse();
        signature.AsSpan(48).Reverse();
        var signed = evidence.Report.SignedBytes.ToArray();

        Task Trustee() => VerifyOnce(verifier, input);
        Task Reference() => key.VerifyData(signed, signature, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            ? Task.CompletedTask
            : throw new InvalidOperationException("the reference signature did not verify");

        await JitWarmUp.Run(async () =>
        {
            await Trustee();
            await Reference();
        });

        // Batches of about 5 ms per side, alternating, so that each comparison is made within a few milliseconds.
        var cycles = await PairedTiming.Run(seconds, (Trustee, 8), (Reference, 8));
        var (median, low, high) = PairedTiming.Ratio(cycles, 0, 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cycles.Length} cycles: {what} {PairedTiming.Median(cycles, 0):F1} us, P-384 verify {PairedTiming.Median(cycles, 1):F1} us (medians)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what} / P-384 verify: median {median:F3}, quartiles {low:F3}-{high:F3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trustee_us={PairedTiming.Median(cycles, 0):F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trustee_multiple={median:F3}"));
        return 0;
    }

    private static async Task VerifyOnce(SnpVerifier verifier, byte[] input)
    {
        var result = await verifier.VerifyAsync(input, null);
        if (!result.Verified)
        {
            throw new InvalidOperationException("the evidence did not verify: " + string.Join("; ", result.Failures));
        }
    }
}
