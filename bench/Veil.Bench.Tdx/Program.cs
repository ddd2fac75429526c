using System.Diagnostics;
using System.Globalization;
using Veil.Abi.Tee;
using Veil.Attestation;
using Veil.Attestation.Verification;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;
using Veil.Tests.Shared;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

// Benchmarks of the TDX verifier (run through ./bench/run tdx-verify and ./bench/run tdx-fuzz).
//   verify <vectors dir> <seconds>: quotes fully verified per second on the calling thread, with collateral
//     and the PCK chain cached (each quote still costs its two ECDSA P-256 verifications: QE report, quote).
//   fuzz <vectors dir> <inputs>: mutated quotes, collateral, CRLs and event logs through every parser.
var mode = args.ElementAtOrDefault(0);
var vectors = args.ElementAtOrDefault(1) ?? "testdata/vectors";
var sample = Path.Combine(vectors, "dcap-qvl", "sample");

if (mode == "verify")
{
    var seconds = double.Parse(args.ElementAtOrDefault(2) ?? "5", CultureInfo.InvariantCulture);
    var quote = File.ReadAllBytes(Path.Combine(sample, "tdx_quote"));
    var collateral = TdxCollateral.FromJson(File.ReadAllBytes(Path.Combine(sample, "tdx_quote_collateral.json")));
    // The verifier 'veil verify tdx', 'veil appraise' and the broker run: built by the common factory, called through
    // the common contract (so the ratio covers the contract's own cost too).
    var verifier = new EvidenceVerifierFactory(new CollateralOptions
    {
        Time = new FixedTimeProvider(DateTimeOffset.Parse("2025-07-19T10:00:34Z", CultureInfo.InvariantCulture)),
        TdxCollateral = collateral,
    }).Create(TeeNames.Tdx);
    var input = new EvidenceInput(quote);

    // Warm up until tiered JIT has settled (see WarmUp): a fixed 2 s of wall time, on a core shared with other work,
    // left the JIT promoting the hot path (tier 0 → instrumented → tier 1) during the measurement, which then counted
    // compilation and unoptimised code. Then count whole verifications: parse, chain lookup, two ECDSA verifies,
    // collateral times, TCB grading, claims.
    await JitWarmUp.Run(async () => Check(await verifier.VerifyAsync(input)));

    // Throughput per user-mode CPU-second of this process (all its threads: JIT and GC included), the same basis as
    // `openssl speed` without -elapsed, so that load from other work on a shared machine does not skew the ratio.
    var process = Process.GetCurrentProcess();
    process.Refresh();
    var cpu0 = process.UserProcessorTime;
    var jit0 = (System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime());
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

    process.Refresh();
    var cpu = (process.UserProcessorTime - cpu0).TotalSeconds;
    Console.Error.WriteLine($"JIT during the measurement: {System.Runtime.JitInfo.GetCompiledMethodCount() - jit0.Item1} methods, {(System.Runtime.JitInfo.GetCompilationTime() - jit0.Item2).TotalMilliseconds:F0} ms");
    Console.WriteLine($"veil_verify_per_s={(n / sw.Elapsed.TotalSeconds).ToString("F1", CultureInfo.InvariantCulture)}");
    Console.WriteLine($"veil_verify_per_cpu_s={(n / cpu).ToString("F1", CultureInfo.InvariantCulture)}");
    return 0;
}

if (mode == "inproc")
{
    // The comparison inside one process (see InProcess): Veil vs the two verifications via .NET and via libcrypto.
    var seconds = double.Parse(args.ElementAtOrDefault(2) ?? "20", CultureInfo.InvariantCulture);
    return await InProcess.Run(sample, seconds);
}

if (mode == "raw")
{
    // Diagnostic: .NET's ECDsa P-256 verify alone (the quote signature), the floor under the verifier's cost.
    var q = TdxQuote.Parse(File.ReadAllBytes(Path.Combine(sample, "tdx_quote")));
    using var key = System.Security.Cryptography.ECDsa.Create(new System.Security.Cryptography.ECParameters
    {
        Curve = System.Security.Cryptography.ECCurve.NamedCurves.nistP256,
        Q = new System.Security.Cryptography.ECPoint { X = q.AttestationKey[..32].ToArray(), Y = q.AttestationKey[32..].ToArray() },
    });
    var seconds = double.Parse(args.ElementAtOrDefault(2) ?? "5", CultureInfo.InvariantCulture);
    var sw = Stopwatch.StartNew();
    long n = 0;
    while (sw.Elapsed.TotalSeconds < seconds)
    {
        if (!key.VerifyData(q.SignedBytes, q.Signature.Span, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            throw new InvalidOperationException("bad signature");
        }

        n++;
    }

    Console.WriteLine($"raw_verify_per_s={(n / sw.Elapsed.TotalSeconds).ToString("F1", CultureInfo.InvariantCulture)}");
    return 0;
}

if (mode == "parts")
{
    // Diagnostic: the cost of each stage, to see where time goes beyond the two ECDSA verifications. Every stage is
    // warmed together until the JIT has settled, then each is timed in CPU time (background JIT would be billed to
    // whichever stage ran while it compiled).
    var bytes = File.ReadAllBytes(Path.Combine(sample, "tdx_quote"));
    var q = TdxQuote.Parse(bytes);
    using var key = System.Security.Cryptography.ECDsa.Create(new System.Security.Cryptography.ECParameters
    {
        Curve = System.Security.Cryptography.ECCurve.NamedCurves.nistP256,
        Q = new System.Security.Cryptography.ECPoint { X = q.AttestationKey[..32].ToArray(), Y = q.AttestationKey[32..].ToArray() },
    });
    var pck = Certificates.Load(q.PckChain.ToArray().AsSpan().TrimEnd((byte)0), "pck")[0];
    using var pckKey = System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions.GetECDsaPublicKey(pck)!;
    var at = new FixedTimeProvider(DateTimeOffset.Parse("2025-07-19T10:00:34Z", CultureInfo.InvariantCulture));
    var bare = new TdxVerifier(TdxCollateralSources.None, at, new TdxVerifierOptions { RequireCollateral = false });
    var coll = TdxCollateral.FromJson(File.ReadAllBytes(Path.Combine(sample, "tdx_quote_collateral.json")));
    var full = new TdxVerifier(TdxCollateralSources.Fixed(coll), at);
    var ext = PckExtensions.From(pck);
    var eval = TcbEvaluation.Evaluate(q, ext, coll.TcbInfo, coll.QeIdentity, []);
    var stages = new (string Name, Func<object?> Action)[]
    {
        ("ecdsa verify quote (attestation key)", () => key.VerifyData(q.SignedBytes, q.Signature.Span, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation)),
        ("ecdsa verify qe report (pck key)", () => pckKey.VerifyData(q.QeReport.Raw.Span, q.QeReportSignature.Span, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.DSASignatureFormat.IeeeP1363FixedFieldConcatenation)),
        ("verify with collateral (whole, from bytes)", () => full.VerifyAsync(bytes, null).Result),
        ("verify without collateral (parsed quote)", () => bare.VerifyAsync(q, null).Result),
        ("parse", () => TdxQuoteInput.Parse(bytes)),
        ("tcb evaluation", () => TcbEvaluation.Evaluate(q, ext, coll.TcbInfo, coll.QeIdentity, [])),
        ("claims with tcb", () => TdxClaims.From(q, ext, eval, null)),
        ("crl revoked lookup", () => coll.PckCrl.IsRevoked(pck)),
        ("sha256 of the pem chain", () => System.Security.Cryptography.SHA256.HashData(q.PckChain.Span)),
    };
    await JitWarmUp.Run(() =>
    {
        foreach (var (_, action) in stages)
        {
            action();
        }

        return Task.CompletedTask;
    });
    foreach (var (name, action) in stages)
    {
        Time(name, action);
    }

    var a0 = GC.GetAllocatedBytesForCurrentThread();
    for (var i = 0; i < 1000; i++)
    {
        full.VerifyAsync(bytes, null).Wait();
    }

    Console.WriteLine($"allocated per verification: {(GC.GetAllocatedBytesForCurrentThread() - a0) / 1000} bytes");
    return 0;
}

if (mode == "fuzz")
{
    // The test suite's own seeds and target (tests/Veil.Attestation.Tests/Tdx/TdxFuzzSeeds.cs), for many more inputs.
    var inputs = long.Parse(args.ElementAtOrDefault(2) ?? "1000000", CultureInfo.InvariantCulture);
    var sw = Stopwatch.StartNew();
    var result = new MutationFuzzer(Veil.Attestation.Tests.Tdx.TdxFuzzSeeds.All(), seed: 1).Run(Veil.Attestation.Tests.Tdx.TdxFuzzSeeds.Target, _ => false, inputs, TimeSpan.FromHours(1));
    foreach (var crash in result.Crashes)
    {
        Console.WriteLine($"crash: {crash.Exception.GetType().Name}: {crash.Exception.Message} ({crash.Input.Length} bytes)");
    }

    Console.WriteLine($"fuzz_inputs={result.Inputs} crashes={result.CrashCount} seconds={sw.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)}");
    return result.CrashCount == 0 ? 0 : 1;
}

Console.Error.WriteLine("usage: Veil.Bench.Tdx verify|inproc|parts|raw|fuzz <vectors dir> [seconds|inputs]");
return 2;

static void Time(string name, Func<object?> action)
{
    for (var i = 0; i < 100; i++)
    {
        action();
    }

    // CPU time of the process, not wall time: the machine is shared.
    var process = Process.GetCurrentProcess();
    process.Refresh();
    var cpu0 = process.UserProcessorTime;
    var sw = Stopwatch.StartNew();
    var n = 0;
    while (sw.ElapsedMilliseconds < 1500)
    {
        action();
        n++;
    }

    process.Refresh();
    Console.WriteLine($"{name}: {(process.UserProcessorTime - cpu0).TotalMicroseconds / n:F1} us cpu");
}

static void Check(VerificationResult r)
{
    if (!r.Verified)
    {
        throw new InvalidOperationException("benchmark quote did not verify: " + string.Join("; ", r.Failures));
    }
}

