using System.Security.Cryptography.X509Certificates;
using System.Diagnostics;
using Veil.Attestation;
using Veil.Abi.Tee;
using Veil.Attestation.Snp;
using Veil.Attestation.Verification;
using Veil.Tests.Shared;

// Benchmarks of the SNP verifier (run through ./bench/run snp-verify and ./bench/run snp-fuzz).
//   verify <vectors dir> <seconds>: reports verified per second, chain cached, on the calling thread.
//   fuzz <vectors dir> <inputs>: the parser fuzzer of the test suite for many more inputs.
var mode = args.ElementAtOrDefault(0);
var vectors = args.ElementAtOrDefault(1) ?? "testdata/vectors";
var ms = Path.Combine(vectors, "TEE-Attestation-Verification", "tests-test_data");

if (mode is "verify" or "verify-json")
{
    // verify: the raw report with its VCEK given once (a verifier fed from files);
    // verify-json: Trustee's evidence JSON with the VCEK inside, parsed every time (what the broker gets).
    var seconds = double.Parse(args.ElementAtOrDefault(2) ?? "5", System.Globalization.CultureInfo.InvariantCulture);
    byte[] report;
    CollateralOptions options;
    if (mode == "verify")
    {
        report = File.ReadAllBytes(Path.Combine(ms, "genoa_attestation_report.bin"));
        options = new CollateralOptions
        {
            Time = new FixedTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z")),
            SnpSigningCertificate = Certificates.LoadOne(File.ReadAllBytes(Path.Combine(ms, "genoa_vcek.pem")), "vcek"),
            SnpCertificateChain = Certificates.Load(File.ReadAllBytes(Path.Combine(ms, "genoa_ask.pem")), "ask"),
        };
    }
    else
    {
        report = File.ReadAllBytes(Path.Combine(vectors, "trustee", "attestation-service", "tests", "e2e", "evidence.json"));
        options = new CollateralOptions { Time = new FixedTimeProvider(DateTimeOffset.Parse("2025-06-01T00:00:00Z")) };
    }

    // The verifier 'veil verify snp', 'veil appraise' and the broker run: built by the common factory, called through
    // the common contract (so the ratio covers the contract's own cost too).
    var verifier = new EvidenceVerifierFactory(options).Create(TeeNames.Snp);
    var input = new EvidenceInput(report);

    // Warm up (chain cache, JIT until it has settled), then count whole verifications: parse, checks, cached chain,
    // one ECDSA verify, claims.
    await JitWarmUp.Run(async () => Check(await verifier.VerifyAsync(input)));

    var sw = Stopwatch.StartNew();
    long n = 0;
    while (sw.Elapsed.TotalSeconds < seconds)
    {
        for (var i = 0; i < 100; i++)
        {
            Check(await verifier.VerifyAsync(input));
        }

        n += 100;
    }

    Console.WriteLine($"veil_verify_per_s={n / sw.Elapsed.TotalSeconds:F1}");
    return 0;
}

if (mode is "trustee" or "report-inproc")
{
    // A verification vs one P-384 verification in this process: Trustee's evidence JSON (./bench/run snp-trustee),
    // or the raw report of snp-verify (its in-process counterpart, to judge changes when the machine is busy).
    var seconds = double.Parse(args.ElementAtOrDefault(2) ?? "20", System.Globalization.CultureInfo.InvariantCulture);
    return await TrusteeJsonBench.Run(vectors, seconds, raw: mode == "report-inproc");
}

if (mode == "raw")
{
    // Diagnostic: .NET's ECDsa P-384 verify alone over the report's signed bytes.
    var report = SnpReport.Parse(File.ReadAllBytes(Path.Combine(ms, "genoa_attestation_report.bin")));
    using var key = Certificates.LoadOne(File.ReadAllBytes(Path.Combine(ms, "genoa_vcek.pem")), "vcek").GetECDsaPublicKey()!;
    var sig = new byte[96];
    report.SignatureR.Span[..48].CopyTo(sig);
    report.SignatureS.Span[..48].CopyTo(sig.AsSpan(48));
    sig.AsSpan(0, 48).Reverse();
    sig.AsSpan(48).Reverse();
    var sw = Stopwatch.StartNew();
    long n = 0;
    while (sw.Elapsed.TotalSeconds < 5)
    {
        if (!key.VerifyData(report.SignedBytes, sig, System.Security.Cryptography.HashAlgorithmName.SHA384, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            throw new InvalidOperationException("bad signature");
        }

        n++;
    }

    Console.WriteLine($"raw_verify_per_s={n / sw.Elapsed.TotalSeconds:F1}");
    return 0;
}

if (mode == "profile")
{
    var json = File.ReadAllBytes(Path.Combine(vectors, "trustee", "attestation-service", "tests", "e2e", "evidence.json"));
    var ev = SnpEvidence.Parse(json);
    var vcek = ev.Certificates[0];
    void Time(string name, Action a)
    {
        // Warm for 1.5 s so that tiered JIT has promoted the code (200 calls were not enough), then CPU time per call.
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 1500) { a(); }
        using var process = Process.GetCurrentProcess();
        var cpu0 = process.UserProcessorTime;
        var n = 0;
        var sw = Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 1500) { a(); n++; }
        process.Refresh();
        Console.WriteLine($"{name}: {(process.UserProcessorTime - cpu0).TotalMicroseconds / n:F1} us cpu");
    }

    Time("json parse", () => SnpEvidence.Parse(json));
    Time("jsondocument", () => System.Text.Json.JsonDocument.Parse(json).Dispose());
    Time("trustee only", () => TrusteeSnpEvidence.Parse(json));
    Time("x509 load", () => X509CertificateLoader.LoadCertificate(vcek.RawData));
    Time("getnameinfo", () => vcek.GetNameInfo(X509NameType.SimpleName, false));
    Time("signing cert", () => SnpSigningCertificate.From(vcek, "vcek"));
    Time("signing cert fresh", () => SnpSigningCertificate.From(X509CertificateLoader.LoadCertificate(vcek.RawData), "vcek"));
    Time("validity", () => CertificateSignature.CheckValidity(vcek, DateTimeOffset.UtcNow));
    Time("validity fresh", () => CertificateSignature.CheckValidity(X509CertificateLoader.LoadCertificate(vcek.RawData), DateTimeOffset.UtcNow));
    Time("claims", () => SnpClaims.From(ev.Report, SnpProduct.Genoa, SnpSigningKey.Vcek));
    Time("roots", () => Veil.Attestation.Collateral.AmdRoots.For(SnpProduct.Genoa));
    var raw = File.ReadAllBytes(Path.Combine(ms, "genoa_attestation_report.bin"));
    var gv = Certificates.LoadOne(File.ReadAllBytes(Path.Combine(ms, "genoa_vcek.pem")), "vcek");
    var gc = Certificates.Load(File.ReadAllBytes(Path.Combine(ms, "genoa_ask.pem")), "ask");
    var v = new SnpVerifier(SnpCollateralSources.Files(gv, gc), new FixedTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z")));
    var rep = SnpReport.Parse(raw);
    using var k = gv.GetECDsaPublicKey()!;
    var sg = new byte[96];
    rep.SignatureR.Span[..48].CopyTo(sg);
    rep.SignatureS.Span[..48].CopyTo(sg.AsSpan(48));
    sg.AsSpan(0, 48).Reverse();
    sg.AsSpan(48).Reverse();
    Time("ecdsa", () => k.VerifyData(rep.SignedBytes, sg, System.Security.Cryptography.HashAlgorithmName.SHA384, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    Time("full verify", () => v.VerifyAsync(raw, null).GetAwaiter().GetResult());
    Time("parse raw", () => SnpEvidence.Parse(raw));
    Time("collateral", () => SnpCollateralSources.Files(gv, gc).GetAsync(new SnpCollateralRequest(SnpProduct.Genoa, SnpSigningKey.Vcek, rep.ChipId, rep.ReportedTcb, []), default).AsTask().GetAwaiter().GetResult());
    Time("json parse again", () => SnpEvidence.Parse(json));
    Time("trustee only again", () => TrusteeSnpEvidence.Parse(json));
    return 0;
}

if (mode == "fuzz")
{
    var inputs = long.Parse(args.ElementAtOrDefault(2) ?? "1000000", System.Globalization.CultureInfo.InvariantCulture);
    var seeds = new List<byte[]>
    {
        File.ReadAllBytes(Path.Combine(ms, "milan_attestation_report.bin")),
        File.ReadAllBytes(Path.Combine(ms, "turin_attestation_report.bin")),
        File.ReadAllBytes(Path.Combine(vectors, "go-sev-guest", "verify-testdata", "attestation.bin")),
        File.ReadAllBytes(Path.Combine(vectors, "virtee-sev", "tests-certs_data", "report_milan.hex")),
        File.ReadAllBytes(Path.Combine(vectors, "trustee", "attestation-service", "tests", "e2e", "evidence.json")),
        SnpCertTable.Build([new SnpCertTableEntry(SnpCertTableEntry.VcekGuid, File.ReadAllBytes(Path.Combine(vectors, "virtee-sev", "tests-certs_data", "vcek_turin.der")))]),
    };
    var sw = Stopwatch.StartNew();
    var result = new MutationFuzzer(seeds, seed: 1).Run(
        input =>
        {
            var evidence = SnpEvidence.Parse(input);
            _ = SnpClaims.From(evidence.Report, SnpProducts.FromCpuId(evidence.Report.CpuId ?? default), evidence.Report.SignerInfo.SigningKey);
            foreach (var cert in evidence.Certificates)
            {
                _ = SnpSigningCertificate.From(cert, "vcek");
            }
        },
        e => e is EvidenceFormatException,
        inputs,
        TimeSpan.FromHours(1));
    foreach (var crash in result.Crashes)
    {
        Console.WriteLine($"crash: {crash.Exception.GetType().Name}: {crash.Exception.Message} ({crash.Input.Length} bytes)");
    }

    Console.WriteLine($"fuzz_inputs={result.Inputs} crashes={result.CrashCount} seconds={sw.Elapsed.TotalSeconds:F1}");
    return result.CrashCount == 0 ? 0 : 1;
}

Console.Error.WriteLine("usage: Veil.Bench.Snp verify|verify-json|trustee|report-inproc|fuzz <vectors dir> [seconds|inputs]");
return 2;

static void Check(VerificationResult r)
{
    if (!r.Verified)
    {
        throw new InvalidOperationException("benchmark report did not verify: " + string.Join("; ", r.Failures));
    }
}
