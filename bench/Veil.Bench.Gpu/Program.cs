using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Nvidia.Rim;
using Veil.Tests.Shared;

// Benchmarks of the NVIDIA GPU verifier (run through ./bench/run gpu-verify and ./bench/run gpu-fuzz).
//   verify <vectors dir> <seconds>: GPU reports verified per second (chain cached, no RIMs) on the calling thread.
//   rims <vectors dir> <seconds>: the same with both RIMs compared each time (RIM parse + XML signature cached), for information.
//   raw <vectors dir> <seconds>: .NET's ECDsa P-384 verify alone over the report's signed bytes (diagnostic).
//   fuzz <vectors dir> <inputs>: the evidence and RIM parsers' mutation fuzzer for many more inputs.
var mode = args.ElementAtOrDefault(0);
var vectors = args.ElementAtOrDefault(1) ?? "testdata/vectors";
var amount = args.ElementAtOrDefault(2);
var history = Path.Combine(vectors, "nvtrust", "history-2023-initial-samples");
var samples = Path.Combine(vectors, "nvtrust", "local_gpu_verifier-samples");
var report = File.ReadAllBytes(Path.Combine(history, "attestationReport.txt"));
var chain = Certificates.Load(File.ReadAllBytes(Path.Combine(history, "gpuAkCertChain.txt")), "chain");
ReadOnlyMemory<byte>? nonce = Hex.Parse("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e", "nonce");
var at = new FixedTimeProvider(DateTimeOffset.Parse("2024-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

switch (mode)
{
    case "verify" or "rims":
    {
        var seconds = double.Parse(amount ?? "5", System.Globalization.CultureInfo.InvariantCulture);
        var rims = mode == "rims"
            ? RimFiles()
                .Select(f => new NvidiaRimFile(f, File.ReadAllBytes(Path.Combine(samples, f)))).ToList()
            : [];
        var verifier = new NvidiaVerifier(NvidiaCollateralSources.Files(rims, []), at);
        for (var i = 0; i < 50; i++)
        {
            await Once();
        }

        var sw = Stopwatch.StartNew();
        long n = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 20; i++)
            {
                await Once();
            }

            n += 20;
        }

        Console.WriteLine($"veil_verify_per_s={n / sw.Elapsed.TotalSeconds:F1}");
        return 0;

        async Task Once()
        {
            // Whole verifications: parse (hex text), cached chain, one ECDSA verify, nonce, claims (+ RIMs in "rims").
            var r = await verifier.VerifyAsync(report, chain, nonce);
            if (!r.Combined.Verified || (mode == "rims" && r.Combined.Claims["nvidia.measurements_match"] is not true))
            {
                throw new InvalidOperationException("benchmark report did not verify: " + string.Join("; ", r.Combined.Failures));
            }
        }
    }

    case "raw":
    {
        var parsed = NvidiaEvidence.Parse(report).Devices[0].Report;
        using var key = chain[0].GetECDsaPublicKey()!;
        var sw = Stopwatch.StartNew();
        long n = 0;
        while (sw.Elapsed.TotalSeconds < double.Parse(amount ?? "5", System.Globalization.CultureInfo.InvariantCulture))
        {
            if (!key.VerifyData(parsed.SignedBytes, parsed.Signature.Span, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                throw new InvalidOperationException("bad signature");
            }

            n++;
        }

        Console.WriteLine($"raw_verify_per_s={n / sw.Elapsed.TotalSeconds:F1}");
        return 0;
    }

    case "fuzz":
    {
        var inputs = long.Parse(amount ?? "1000000", System.Globalization.CultureInfo.InvariantCulture);
        var sdk = Path.Combine(vectors, "attestation-sdk");
        var seeds = new List<byte[]>
        {
            NvidiaEvidence.Parse(report).Devices[0].Report.Raw.ToArray(),
            File.ReadAllBytes(Path.Combine(samples, "hopperAttestationReport.txt")),
            File.ReadAllBytes(Path.Combine(sdk, "unit-tests-testdata", "sample_attestation_data", "gpu", "blackwellAttestationReport.txt")),
            File.ReadAllBytes(Path.Combine(sdk, "unit-tests-testdata", "switchAttestationReport.txt")),
            File.ReadAllBytes(Path.Combine(sdk, "common-test-data", "serialized_test_evidence", "hopper_evidence.json")),
        };
        var rimSeeds = new List<byte[]> { File.ReadAllBytes(Path.Combine(samples, "1010_0200_882_96005E0001_test_no_gpu.swidtag")) };
        var sw = Stopwatch.StartNew();
        var evidence = new MutationFuzzer(seeds, seed: 1).Run(
            input =>
            {
                foreach (var d in NvidiaEvidence.Parse(input).Devices)
                {
                    _ = d.Report.OpaqueData.VbiosVersion;
                    if (d.Certificates.Count > 0)
                    {
                        _ = NvidiaDeviceCertificate.From(d.Certificates);
                    }
                }
            },
            e => e is EvidenceFormatException,
            inputs,
            TimeSpan.FromHours(1));
        var rimInputs = Math.Max(1, inputs / 100);
        var rimResult = new MutationFuzzer(rimSeeds, seed: 2).Run(
            input => _ = RimDocument.Parse(input, "rim").Measurements.Count,
            e => e is EvidenceFormatException,
            rimInputs,
            TimeSpan.FromHours(1));
        foreach (var crash in evidence.Crashes.Concat(rimResult.Crashes))
        {
            Console.WriteLine($"crash: {crash.Exception.GetType().Name}: {crash.Exception.Message} ({crash.Input.Length} bytes)");
        }

        Console.WriteLine($"fuzz_inputs={evidence.Inputs + rimResult.Inputs} crashes={evidence.CrashCount + rimResult.CrashCount} rim_inputs={rimResult.Inputs} seconds={sw.Elapsed.TotalSeconds:F1}");
        return evidence.CrashCount + rimResult.CrashCount == 0 ? 0 : 1;
    }

    default:
        Console.Error.WriteLine("usage: Veil.Bench.Gpu verify|rims|raw|fuzz <vectors dir> [seconds|inputs]");
        return 2;
}

static List<string> RimFiles() => ["Driver_RIM_test_no_gpu.swidtag", "1010_0200_882_96005E0001_test_no_gpu.swidtag"];
