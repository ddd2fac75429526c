using System.Diagnostics;
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
/// The two sides alternate in rounds of CPU time, after a warm-up that lets tiered JIT settle.
/// </summary>
internal static class TrusteeJsonBench
{
    public static async Task<int> Run(string vectors, double seconds, int rounds)
    {
        var json = File.ReadAllBytes(Path.Combine(vectors, "trustee", "attestation-service", "tests", "e2e", "evidence.json"));
        var verifier = new SnpVerifier(SnpCollateralSources.Embedded(), new FixedTimeProvider(DateTimeOffset.Parse("2025-06-01T00:00:00Z", CultureInfo.InvariantCulture)));
        var evidence = SnpEvidence.Parse(json);
        using var key = evidence.Certificates[0].GetECDsaPublicKey()!;
        var signature = new byte[96];
        evidence.Report.SignatureR.Span[..48].CopyTo(signature);
        evidence.Report.SignatureS.Span[..48].CopyTo(signature.AsSpan(48));
        signature.AsSpan(0, 48).Reverse();
        signature.AsSpan(48).Reverse();
        var signed = evidence.Report.SignedBytes.ToArray();

        Task Trustee() => VerifyOnce(verifier, json);
        Task Reference() => key.VerifyData(signed, signature, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            ? Task.CompletedTask
            : throw new InvalidOperationException("the reference signature did not verify");

        await WarmUp(Trustee, Reference);
        var rows = new List<(double Reference, double Trustee)>();
        for (var r = 1; r <= rounds; r++)
        {
            var reference = await MicrosPerOp(Reference, seconds);
            var trustee = await MicrosPerOp(Trustee, seconds);
            rows.Add((reference, trustee));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {r}: P-384 verify {reference:F1} us, Trustee JSON verification {trustee:F1} us (CPU time each) = {trustee / reference:F3} x"));
        }

        // The round with the median multiple, so that its two times belong together.
        var median = rows.OrderBy(x => x.Trustee / x.Reference).ElementAt((rows.Count - 1) / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"p384_us={median.Reference:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trustee_us={median.Trustee:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"trustee_multiple={median.Trustee / median.Reference:F3}"));
        return 0;
    }

    private static async Task VerifyOnce(SnpVerifier verifier, byte[] json)
    {
        var result = await verifier.VerifyAsync(json, null);
        if (!result.Verified)
        {
            throw new InvalidOperationException("the Trustee evidence did not verify: " + string.Join("; ", result.Failures));
        }
    }

    /// <summary>CPU time of this process per operation (JIT and GC threads included), over about <paramref name="seconds"/> of CPU.</summary>
    private static async Task<double> MicrosPerOp(Func<Task> op, double seconds)
    {
        var start = Cpu();
        long n = 0;
        double used;
        do
        {
            for (var i = 0; i < 20; i++)
            {
                await op();
            }

            n += 20;
            used = Cpu() - start;
        }
        while (used < seconds);

        return used * 1e6 / n;
    }

    /// <summary>
    /// Until no method was compiled for 2 CPU-seconds (at least 3 in all, at most 60 s of wall time). A fixed count
    /// or wall time is not enough on a shared core: tiered JIT was still promoting the hot path while measured.
    /// </summary>
    public static async Task WarmUp(params Func<Task>[] ops)
    {
        var total = Stopwatch.StartNew();
        var compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        var since = Cpu();
        while (total.Elapsed.TotalSeconds < 60)
        {
            foreach (var op in ops)
            {
                for (var i = 0; i < 20; i++)
                {
                    await op();
                }
            }

            var cpu = Cpu();
            if (System.Runtime.JitInfo.GetCompiledMethodCount() is var now && now != compiled)
            {
                (compiled, since) = (now, cpu);
            }
            else if (cpu - since >= 2 && cpu >= 3)
            {
                break;
            }
        }

        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up {total.Elapsed.TotalSeconds:F1} s ({Cpu():F1} s CPU)"));
    }

    private static double Cpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.UserProcessorTime.TotalSeconds;
    }
}
