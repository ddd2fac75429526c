using System.CommandLine;
using Veil.Attestation;
using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Cli.Commands;

/// <summary><c>veil verify tdx</c>.</summary>
internal static class TdxVerifyCommand
{
    public static Command Create()
    {
        var quote = new Option<string>("--quote") { Description = "The TDX DCAP quote (v4/v5): binary, hex text (with or without 0x) or base64", Required = true };
        var collateralFile = new Option<string?>("--collateral") { Description = "Collateral as one JSON file (dcap-qvl QuoteCollateralV3: tcb_info, qe_identity, CRLs, issuer chains)" };
        var dir = new Option<string?>("--collateral-dir") { Description = "Offline directory of Intel PCS bodies (tcb_info.json, qe_identity.json, pck_crl.der, root_ca_crl.der, *_issuer_chain.pem)" };
        var pcs = new Option<string?>("--pcs-url") { Description = "Fetch missing collateral from Intel PCS or a PCCS at this base URL (e.g. https://api.trustedservices.intel.com), cached in --collateral-dir" };
        var noCollateral = new Option<bool>("--no-collateral") { Description = "Check signatures and the PCK chain only: no CRLs, no TCB status (tdx.tcb_status absent)" };
        var reportData = new Option<string?>("--report-data") { Description = "Expected REPORT_DATA, 64 bytes as hex" };
        var eventLog = new Option<string?>("--event-log") { Description = "The TD's CC event log (CCEL data): replayed and compared with RTMR0-3" };
        var at = new Option<string?>("--at") { Description = "Verify as of this ISO-8601 time (default: now)" };
        var output = CliOptions.Output("text", "json");

        var cmd = new Command("tdx", "Verify an Intel TDX DCAP quote against Intel's root, CRLs and TCB Info, offline.")
        {
            quote, collateralFile, dir, pcs, noCollateral, reportData, eventLog, at, output,
        };
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var file = parse.GetValue(collateralFile);
            var collateralDir = parse.GetValue(dir);
            var pcsUrl = parse.GetValue(pcs);
            var skip = parse.GetValue(noCollateral);
            if (file is not null && (collateralDir is not null || pcsUrl is not null))
            {
                throw new CliUsageException("--collateral cannot be combined with --collateral-dir or --pcs-url");
            }

            if (skip && (file is not null || collateralDir is not null || pcsUrl is not null))
            {
                throw new CliUsageException("--no-collateral cannot be combined with collateral options");
            }

            var parsed = TdxQuoteInput.Parse(CliOptions.ReadFile(parse.GetValue(quote)!, "--quote"));
            var replay = parse.GetValue(eventLog) is { } logPath ? RtmrReplay.Parse(CliOptions.ReadFile(logPath, "--event-log")) : null;
            var expected = CliOptions.ExpectedReportData(parse.GetValue(reportData));

            var time = CliOptions.TimeAt(parse.GetValue(at));
            using var http = pcsUrl is not null ? new HttpClient() : null;
            ITdxCollateralSource source;
            if (file is not null)
            {
                source = TdxCollateralSources.Fixed(TdxCollateral.FromJson(CliOptions.ReadFile(file, "--collateral")));
            }
            else if (http is not null)
            {
                var baseUri = Uri.TryCreate(pcsUrl, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
                    ? u
                    : throw new CliUsageException("--pcs-url: expected an absolute http(s) URL");
                source = new PcsCollateralSource(http, baseUri, collateralDir ?? PcsCollateralSource.DefaultCacheDirectory(), time);
            }
            else if (collateralDir is not null)
            {
                source = Directory.Exists(collateralDir)
                    ? new TdxDirectoryCollateral(collateralDir)
                    : throw new CliUsageException($"--collateral-dir: directory not found: {collateralDir}");
            }
            else
            {
                source = TdxCollateralSources.None;
            }

            var verifier = new TdxVerifier(source, time, new TdxVerifierOptions { RequireCollateral = !skip });
            var result = await verifier.VerifyAsync(parsed, expected, replay, ct).ConfigureAwait(false);
            return VerificationOutput.Write(result, parse.GetValue(output)!, parse.InvocationConfiguration.Output, CollateralHints.Tdx);
        }));
        return cmd;
    }
}
