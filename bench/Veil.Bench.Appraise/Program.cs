using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Veil.Attestation;
using Veil.Attestation.Snp;
using Veil.Policy;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;

// Appraisal of a full SNP + 8-GPU claim set against the strict policy, versus one SNP report signature
// verification (ECDSA P-384 over the 672 signed bytes with .NET's ECDsa), both timed in this process.
// Usage: Veil.Bench.Appraise <vectors dir> <seconds per side>
var vectors = args.Length > 0 ? args[0] : "testdata/vectors";
var seconds = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 5;

// Real SNP claims: the Genoa report of TEE-Attestation-Verification, verified at its pinned time.
string V(params string[] p) => Path.Combine([vectors, .. p]);
var dir = V("TEE-Attestation-Verification", "tests-test_data");
var time = new FixedTimeProvider(DateTimeOffset.Parse("2026-03-01T00:00:00Z", CultureInfo.InvariantCulture));
var verifier = new SnpVerifier(
    SnpCollateralSources.Combine(
        SnpCollateralSources.Files(Certificates.Load(File.ReadAllBytes(Path.Combine(dir, "genoa_vcek.pem")), "vcek")[0], Certificates.Load(File.ReadAllBytes(Path.Combine(dir, "genoa_ask.pem")), "ask")),
        SnpCollateralSources.Evidence()),
    time);
var snp = await verifier.VerifyAsync(File.ReadAllBytes(Path.Combine(dir, "genoa_attestation_report.bin")), null);
if (!snp.Verified)
{
    Console.Error.WriteLine("bench: the Genoa vector did not verify: " + string.Join("; ", snp.Failures));
    return 2;
}

// GPU claims in the shape issue 4 specifies for Hopper devices (one set of 8 GPUs).
var gpus = Enumerable.Range(0, 8).Select(i => new SubmoduleEvidence(SubmoduleKind.Gpu, "nvidia", new Dictionary<string, object>(StringComparer.Ordinal)
{
    ["nvidia.arch"] = "HOPPER",
    ["nvidia.driver_version"] = "550.90.07",
    ["nvidia.vbios_version"] = "96.00.9F.00.01",
    ["nvidia.nonce"] = new string('a', 64),
    ["nvidia.cc_mode"] = true,
    ["nvidia.ppcie_mode"] = true,
    ["nvidia.measurements_match"] = true,
    ["nvidia.mismatched_indices"] = new List<string>(),
    ["nvidia.device_id"] = $"{i}",
}));
var evidence = new EvidenceSet([new SubmoduleEvidence(SubmoduleKind.Cpu, "snp", snp.Claims), .. gpus]);
var c = snp.Claims;
var strict = DefaultPolicies.Load("strict", parameters: new Dictionary<string, string>
{
    ["snp_min_bootloader"] = c["snp.reported_tcb.bootloader"].ToString()!,
    ["snp_min_tee"] = c["snp.reported_tcb.tee"].ToString()!,
    ["snp_min_snp"] = c["snp.reported_tcb.snp"].ToString()!,
    ["snp_min_microcode"] = c["snp.reported_tcb.microcode"].ToString()!,
});
var check = Appraiser.Appraise(strict, evidence, time);
if (check.Status != EarStatus.Affirming || check.Submodules.Count != 9)
{
    Console.Error.WriteLine("bench: expected an affirming 9-submodule appraisal, got " + check.Status + ": " + string.Join("; ", check.Explanations));
    return 2;
}

using var key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
var signed = new byte[672];
RandomNumberGenerator.Fill(signed);
var signature = key.SignData(signed, HashAlgorithmName.SHA384);

double NsPerOp(Func<bool> op)
{
    for (var i = 0; i < 200; i++)
    {
        op();
    }

    var sw = Stopwatch.StartNew();
    long n = 0;
    var budget = TimeSpan.FromSeconds(seconds);
    while (sw.Elapsed < budget)
    {
        for (var i = 0; i < 64; i++)
        {
            if (!op())
            {
                throw new InvalidOperationException("operation failed during timing");
            }
        }

        n += 64;
    }

    return sw.Elapsed.TotalNanoseconds / n;
}

var appraiseNs = NsPerOp(() => Appraiser.Appraise(strict, evidence, time).Status == EarStatus.Affirming);
var verifyNs = NsPerOp(() => key.VerifyData(signed, signature, HashAlgorithmName.SHA384));
Console.WriteLine($"rules_in_strict={strict.Submodules.Values.Sum(s => s.Rules.Count)} submodules=9");
Console.WriteLine(FormattableString.Invariant($"appraise_ns={appraiseNs:F0}"));
Console.WriteLine(FormattableString.Invariant($"ecdsa_p384_verify_ns={verifyNs:F0}"));
return 0;
