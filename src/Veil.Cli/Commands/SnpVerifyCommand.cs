using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation;
using Veil.Attestation.Snp;

namespace Veil.Cli.Commands;

/// <summary><c>veil verify snp</c>.</summary>
internal static class SnpVerifyCommand
{
    public static Command Create()
    {
        var report = new Option<string>("--report") { Description = "The report: raw 1184 bytes, hex text, or Trustee's SNP evidence JSON", Required = true };
        var vcek = new Option<string?>("--vcek") { Description = "VCEK or VLEK certificate (DER or PEM)" };
        var chain = new Option<string?>("--cert-chain") { Description = "ASK/ASVK then ARK (AMD KDS cert_chain), or the ASK alone (PEM or DER)" };
        var certTable = new Option<string?>("--cert-table") { Description = "Extended-report certificate table (configfs-tsm auxblob)" };
        var dir = new Option<string?>("--collateral-dir") { Description = "Offline collateral directory (the KDS cache layout; see README)" };
        var kds = new Option<string?>("--kds-url") { Description = "Fetch missing certificates from AMD KDS at this base URL (e.g. https://kdsintf.amd.com), cached in --collateral-dir" };
        var reportData = new Option<string?>("--report-data") { Description = "Expected REPORT_DATA, 64 bytes as hex" };
        var at = new Option<string?>("--at") { Description = "Verify as of this ISO-8601 time (default: now)" };
        var output = CliOptions.Output("text", "json");

        var cmd = new Command("snp", "Verify an AMD SEV-SNP attestation report against AMD's roots.")
        {
            report, vcek, chain, certTable, dir, kds, reportData, at, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var evidence = SnpEvidence.Parse(CliOptions.ReadFile(parse.GetValue(report)!, "--report"));
            if (parse.GetValue(certTable) is { } tablePath)
            {
                evidence = evidence.WithCertTable(CliOptions.ReadFile(tablePath, "--cert-table"));
            }

            X509Certificate2? leaf = parse.GetValue(vcek) is { } vcekPath
                ? Certificates.LoadOne(CliOptions.ReadFile(vcekPath, "--vcek"), "--vcek")
                : null;
            var chainCerts = parse.GetValue(chain) is { } chainPath
                ? Certificates.Load(CliOptions.ReadFile(chainPath, "--cert-chain"), "--cert-chain")
                : [];

            var sources = new List<ISnpCollateralSource>
            {
                SnpCollateralSources.Files(leaf, chainCerts),
                SnpCollateralSources.Evidence(),
            };
            var collateralDir = parse.GetValue(dir);
            if (collateralDir is not null)
            {
                if (!Directory.Exists(collateralDir))
                {
                    throw new CliUsageException($"--collateral-dir: directory not found: {collateralDir}");
                }

                sources.Add(new SnpDirectoryCollateral(collateralDir));
            }

            using var http = parse.GetValue(kds) is { } kdsUrl ? new HttpClient() : null;
            if (http is not null)
            {
                var baseUri = Uri.TryCreate(parse.GetValue(kds), UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
                    ? u
                    : throw new CliUsageException("--kds-url: expected an absolute http(s) URL");
                sources.Add(new KdsCollateralSource(http, baseUri, collateralDir ?? KdsCollateralSource.DefaultCacheDirectory()));
            }

            var expected = CliOptions.ExpectedReportData(parse.GetValue(reportData));

            var verifier = new SnpVerifier(SnpCollateralSources.Combine([.. sources]), CliOptions.TimeAt(parse.GetValue(at)));
            var result = await verifier.VerifyAsync(evidence, expected, ct).ConfigureAwait(false);
            return VerificationOutput.Write(result, parse.GetValue(output)!, parse.InvocationConfiguration.Output, CollateralHints.Snp);
        }));
        return cmd;
    }
}
