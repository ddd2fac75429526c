using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation;
using Veil.Attestation.AzureVtpm;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Measure;
using Veil.Measure.InitData;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil verify az-snp-vtpm</c> and <c>veil verify az-tdx-vtpm</c>: Azure confidential VM evidence (a vTPM quote, the
/// HCL report naming its AK, and the SNP report or TD quote), as CoCo's attestation-agent sends it. The collateral
/// options are those of <c>verify snp</c> and <c>verify tdx</c>; their wiring is repeated here until the verifier
/// factory (issue 17, scope 1) gives every verb one.
/// </summary>
internal static class AzureVtpmVerifyCommand
{
    public static Command Snp()
    {
        var evidence = EvidenceOption();
        var vcek = new Option<string?>("--vcek") { Description = "VCEK certificate (DER or PEM), when the evidence does not carry it" };
        var chain = new Option<string?>("--cert-chain") { Description = "ASK then ARK (AMD KDS cert_chain), or the ASK alone (PEM or DER)" };
        var dir = new Option<string?>("--collateral-dir") { Description = "Offline collateral directory (the KDS cache layout; see README)" };
        var kds = new Option<string?>("--kds-url") { Description = "Fetch a missing VCEK from AMD KDS at this base URL, cached in --collateral-dir" };
        var (reportData, initData, initDigest, at, output) = CommonOptions();
        var cmd = new Command("az-snp-vtpm", "Verify Azure SEV-SNP confidential VM evidence: vTPM quote, HCL report and SNP report.")
        {
            evidence, vcek, chain, dir, kds, reportData, initData, initDigest, at, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var bytes = CliOptions.ReadFile(parse.GetValue(evidence)!, "--evidence");
            var (expected, init) = Expectations(parse, reportData, initData, initDigest);
            X509Certificate2? leaf = parse.GetValue(vcek) is { } vcekPath ? Certificates.LoadOne(CliOptions.ReadFile(vcekPath, "--vcek"), "--vcek") : null;
            var chainCerts = parse.GetValue(chain) is { } chainPath ? Certificates.Load(CliOptions.ReadFile(chainPath, "--cert-chain"), "--cert-chain") : [];
            var sources = new List<ISnpCollateralSource> { SnpCollateralSources.Files(leaf, chainCerts), SnpCollateralSources.Evidence() };
            var collateralDir = parse.GetValue(dir);
            if (collateralDir is not null)
            {
                sources.Add(Directory.Exists(collateralDir) ? new SnpDirectoryCollateral(collateralDir) : throw new CliUsageException($"--collateral-dir: directory not found: {collateralDir}"));
            }

            using var http = parse.GetValue(kds) is not null ? new HttpClient() : null;
            if (http is not null)
            {
                sources.Add(new KdsCollateralSource(http, HttpUrl(parse.GetValue(kds), "--kds-url"), collateralDir ?? KdsCollateralSource.DefaultCacheDirectory()));
            }

            var verifier = new AzSnpVtpmVerifier(SnpCollateralSources.Combine([.. sources]), CliOptions.TimeAt(parse.GetValue(at)));
            var result = await verifier.VerifyAsync(bytes, expected, init, ct).ConfigureAwait(false);
            return VerificationOutput.Write(result, parse.GetValue(output)!, parse.InvocationConfiguration.Output);
        }));
        return cmd;
    }

    public static Command Tdx()
    {
        var evidence = EvidenceOption();
        var collateralFile = new Option<string?>("--collateral") { Description = "Intel collateral as one JSON file (dcap-qvl QuoteCollateralV3)" };
        var dir = new Option<string?>("--collateral-dir") { Description = "Offline directory of Intel PCS bodies (see veil verify tdx)" };
        var pcs = new Option<string?>("--pcs-url") { Description = "Fetch missing collateral from Intel PCS or a PCCS at this base URL, cached in --collateral-dir" };
        var noCollateral = new Option<bool>("--no-collateral") { Description = "Check the TD quote's signatures and PCK chain only: no CRLs, no TCB status" };
        var (reportData, initData, initDigest, at, output) = CommonOptions();
        var cmd = new Command("az-tdx-vtpm", "Verify Azure TDX confidential VM evidence: vTPM quote, HCL report and TD quote.")
        {
            evidence, collateralFile, dir, pcs, noCollateral, reportData, initData, initDigest, at, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var (file, collateralDir, pcsUrl, skip) = (parse.GetValue(collateralFile), parse.GetValue(dir), parse.GetValue(pcs), parse.GetValue(noCollateral));
            if (file is not null && (collateralDir is not null || pcsUrl is not null))
            {
                throw new CliUsageException("--collateral cannot be combined with --collateral-dir or --pcs-url");
            }

            if (skip && (file is not null || collateralDir is not null || pcsUrl is not null))
            {
                throw new CliUsageException("--no-collateral cannot be combined with collateral options");
            }

            var bytes = CliOptions.ReadFile(parse.GetValue(evidence)!, "--evidence");
            var (expected, init) = Expectations(parse, reportData, initData, initDigest);
            var time = CliOptions.TimeAt(parse.GetValue(at));
            using var http = pcsUrl is not null ? new HttpClient() : null;
            ITdxCollateralSource source = (file, collateralDir, http) switch
            {
                ({ } f, _, _) => TdxCollateralSources.Fixed(TdxCollateral.FromJson(CliOptions.ReadFile(f, "--collateral"))),
                (_, _, { } client) => new PcsCollateralSource(client, HttpUrl(pcsUrl, "--pcs-url"), collateralDir ?? PcsCollateralSource.DefaultCacheDirectory(), time),
                (_, { } d, _) => Directory.Exists(d) ? new TdxDirectoryCollateral(d) : throw new CliUsageException($"--collateral-dir: directory not found: {d}"),
                _ => TdxCollateralSources.None,
            };
            var verifier = new AzTdxVtpmVerifier(source, time, new TdxVerifierOptions { RequireCollateral = !skip });
            var result = await verifier.VerifyAsync(bytes, expected, init, ct).ConfigureAwait(false);
            return VerificationOutput.Write(result, parse.GetValue(output)!, parse.InvocationConfiguration.Output);
        }));
        return cmd;
    }

    private static Option<string> EvidenceOption() =>
        new("--evidence") { Description = "The evidence JSON (attestation-agent layout v0, v1 or v2)", Required = true };

    private static (Option<string?>, Option<string?>, Option<string?>, Option<string?>, Option<string>) CommonOptions() =>
    (
        new Option<string?>("--report-data") { Description = "Expected report data (TPM quote extraData), up to 64 bytes as hex; KBS: the 48-byte binding" },
        new Option<string?>("--init-data") { Description = "The init-data TOML whose SHA-256 digest PCR 8 must hold (algorithm = \"sha256\")" },
        new Option<string?>("--init-data-digest") { Description = "The init-data digest PCR 8 must hold, 32 bytes as hex" },
        new Option<string?>("--at") { Description = "Verify as of this ISO-8601 time (default: now)" },
        CliOptions.Output("text", "json")
    );

    private static (ReadOnlyMemory<byte>? ReportData, ReadOnlyMemory<byte>? InitData) Expectations(ParseResult parse, Option<string?> reportData, Option<string?> initData, Option<string?> initDigest)
    {
        ReadOnlyMemory<byte>? expected = null;
        if (parse.GetValue(reportData) is { } hex)
        {
            var bytes = Hex.Parse(hex, "--report-data");
            expected = bytes.Length <= 64 ? bytes : throw new CliUsageException($"--report-data: {bytes.Length} bytes, a TPM quote's extraData holds at most 64");
        }

        var (file, digestHex) = (parse.GetValue(initData), parse.GetValue(initDigest));
        if (file is not null && digestHex is not null)
        {
            throw new CliUsageException("--init-data and --init-data-digest are alternatives");
        }

        ReadOnlyMemory<byte>? init = null;
        if (digestHex is not null)
        {
            var d = Hex.Parse(digestHex, "--init-data-digest");
            init = d.Length == 32 ? d : throw new CliUsageException($"--init-data-digest: {d.Length} bytes, a SHA-256 digest has 32");
        }
        else if (file is not null)
        {
            try
            {
                var m = InitDataDigest.Compute(CliOptions.ReadFile(file, "--init-data"));
                init = m.Algorithm == "sha256" ? m.Digest : throw new CliUsageException($"--init-data: algorithm '{m.Algorithm}'; PCR 8 of the SHA-256 bank can only bind a sha256 init-data digest");
            }
            catch (MeasureException e)
            {
                throw new CliUsageException($"--init-data: {e.Message}");
            }
        }

        return (expected, init);
    }

    private static Uri HttpUrl(string? url, string option) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u : throw new CliUsageException($"{option}: expected an absolute http(s) URL");
}
