using System.CommandLine;
using Veil.Attestation;
using Veil.Attestation.Nvidia;

namespace Veil.Cli.Commands;

/// <summary><c>veil verify gpu</c>: NVIDIA GPUs and NVSwitches, offline, with RIMs.</summary>
internal static class GpuVerifyCommand
{
    public static Command Create()
    {
        var evidence = new Option<string>("--evidence") { Description = "The report (raw, hex or base64 SPDM bytes) or an evidence list as NVIDIA's SDKs and Trustee write it (JSON)", Required = true };
        var chain = new Option<string?>("--cert-chain") { Description = "Device certificate chain, leaf first (PEM), for evidence that does not carry one" };
        var nonce = new Option<string?>("--nonce") { Description = "The nonce the verifier sent (32 bytes as hex); compared with each report's request nonce" };
        var rims = new Option<string[]>("--rim") { Description = "A driver or VBIOS RIM: SWID tag XML or CoRIM (CBOR, COSE-signed), told apart by content; repeat for several", DefaultValueFactory = _ => [] };
        var ocsp = new Option<string[]>("--ocsp") { Description = "A DER OCSP response for a chain certificate; repeat for several", DefaultValueFactory = _ => [] };
        var dir = new Option<string?>("--collateral-dir") { Description = "Offline collateral directory (rims/<id>.xml or .corim, ocsp/*.der; the fetcher's cache layout)" };
        var rimService = new Option<string?>("--rim-service") { Description = "Fetch missing RIMs from NVIDIA's RIM service at this base URL (e.g. https://rim.attestation.nvidia.com), cached in --collateral-dir" };
        var ocspResponder = new Option<string?>("--ocsp-responder") { Description = "Ask this OCSP responder (e.g. https://ocsp.ndis.nvidia.com/) about every chain certificate; needs --rim-service" };
        var at = new Option<string?>("--at") { Description = "Verify as of this ISO-8601 time (default: now)" };
        var output = CliOptions.Output("text", "json");

        var cmd = new Command("gpu", "Verify NVIDIA GPU and NVSwitch attestation reports against NVIDIA's roots and reference manifests.")
        {
            evidence, chain, nonce, rims, ocsp, dir, rimService, ocspResponder, at, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var certs = parse.GetValue(chain) is { } chainPath
                ? Certificates.Load(CliOptions.ReadFile(chainPath, "--cert-chain"), "--cert-chain")
                : null;
            var parsed = NvidiaEvidence.Parse(CliOptions.ReadFile(parse.GetValue(evidence)!, "--evidence"), certs);

            ReadOnlyMemory<byte>? expected = null;
            if (parse.GetValue(nonce) is { } hex)
            {
                var bytes = Hex.Parse(hex, "--nonce");
                expected = bytes.Length == SpdmMeasurementReport.NonceLength
                    ? bytes
                    : throw new CliUsageException($"--nonce: expected 32 bytes (64 hex digits), got {bytes.Length}");
            }

            var rimFiles = parse.GetValue(rims)!.Select(p => new NvidiaRimFile(p, CliOptions.ReadFile(p, "--rim"))).ToList();
            var ocspFiles = parse.GetValue(ocsp)!.Select(p => CliOptions.ReadFile(p, "--ocsp")).ToList();
            var sources = new List<INvidiaCollateralSource> { NvidiaCollateralSources.Files(rimFiles, ocspFiles) };
            var collateralDir = parse.GetValue(dir);
            if (collateralDir is not null)
            {
                if (!Directory.Exists(collateralDir))
                {
                    throw new CliUsageException($"--collateral-dir: directory not found: {collateralDir}");
                }

                sources.Add(new NvidiaDirectoryCollateral(collateralDir));
            }

            var responder = parse.GetValue(ocspResponder) is { } o ? Url(o, "--ocsp-responder") : null;
            using var http = parse.GetValue(rimService) is not null ? new HttpClient() : null;
            if (http is not null)
            {
                sources.Add(new NvidiaServiceCollateral(http, Url(parse.GetValue(rimService)!, "--rim-service"), responder,
                    collateralDir ?? NvidiaServiceCollateral.DefaultCacheDirectory()));
            }
            else if (responder is not null)
            {
                throw new CliUsageException("--ocsp-responder: needs --rim-service (the fetcher that also caches responses)");
            }

            var verifier = new NvidiaVerifier(NvidiaCollateralSources.Combine([.. sources]), CliOptions.TimeAt(parse.GetValue(at)));
            var result = await verifier.VerifyAsync(parsed, expected, ct).ConfigureAwait(false);
            return VerificationOutput.Write(result.Combined, parse.GetValue(output)!, parse.InvocationConfiguration.Output, CollateralHints.Gpu);
        }));
        return cmd;
    }

    private static Uri Url(string text, string option) =>
        Uri.TryCreate(text, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
            ? u
            : throw new CliUsageException($"{option}: expected an absolute http(s) URL");
}
