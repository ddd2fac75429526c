using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation;
using Veil.Attestation.EventLog;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Measure;
using Veil.Measure.InitData;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil appraise --snp|--tdx|--gpu</c>: verifies evidence with the same inputs as <c>veil verify</c> and turns
/// the result into an evidence set. Evidence that fails verification is still appraised — as contraindicated,
/// with the failed checks as the explanation — so the operator sees one answer.
/// </summary>
internal static class AppraiseEvidence
{
    /// <summary>Binds an init-data document to the CPU evidence (see <see cref="InitDataBinding"/>).</summary>
    public static EvidenceSet BindInitData(EvidenceSet evidence, byte[] toml)
    {
        try
        {
            return InitDataBinding.Bind(evidence, toml);
        }
        catch (InitDataException e)
        {
            throw new CliUsageException("--" + e.Message, e);
        }
    }

    internal sealed class Options
    {
        private readonly Option<bool> _snp = new("--snp") { Description = "Verify an SNP report (options as in 'veil verify snp') and appraise its claims" };
        private readonly Option<bool> _tdx = new("--tdx") { Description = "Verify a TDX quote (options as in 'veil verify tdx') and appraise its claims" };
        private readonly Option<bool> _gpu = new("--gpu") { Description = "Verify NVIDIA GPU/NVSwitch evidence (options as in 'veil verify gpu') and appraise each device" };
        private readonly Option<string?> _report = new("--report") { Description = "--snp: the report (raw, hex, or Trustee SNP evidence JSON)" };
        private readonly Option<string?> _vcek = new("--vcek") { Description = "--snp: VCEK or VLEK certificate" };
        private readonly Option<string?> _chain = new("--cert-chain") { Description = "--snp: ASK/ASVK then ARK; --gpu: the device certificate chain" };
        private readonly Option<string?> _certTable = new("--cert-table") { Description = "--snp: extended-report certificate table" };
        private readonly Option<string?> _dir = new("--collateral-dir") { Description = "--snp: KDS cache layout; --tdx: PCS response bodies" };
        private readonly Option<string?> _reportData = new("--report-data") { Description = "--snp/--tdx: expected REPORT_DATA (64 bytes hex)" };
        private readonly Option<string?> _quote = new("--quote") { Description = "--tdx: the quote (binary, hex or base64)" };
        private readonly Option<string?> _collateral = new("--collateral") { Description = "--tdx: single-file collateral JSON (dcap-qvl layout)" };
        private readonly Option<string?> _eventLog = new("--event-log") { Description = "--tdx: CCEL event log to replay against the RTMRs" };
        private readonly Option<string?> _evidence = new("--evidence") { Description = "--gpu: report (raw, hex, base64) or JSON evidence list" };
        private readonly Option<string?> _nonce = new("--nonce") { Description = "--gpu: expected SPDM request nonce (32 bytes hex)" };
        private readonly Option<string[]> _rims = new("--rim") { Description = "--gpu: driver or VBIOS RIM file (repeatable)" };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { _snp, _tdx, _gpu, _report, _vcek, _chain, _certTable, _dir, _reportData, _quote, _collateral, _eventLog, _evidence, _nonce, _rims })
            {
                cmd.Add(o);
            }
        }

        public string? Mode(ParseResult parse)
        {
            var modes = new[] { ("snp", parse.GetValue(_snp)), ("tdx", parse.GetValue(_tdx)), ("gpu", parse.GetValue(_gpu)) }.Where(m => m.Item2).Select(m => m.Item1).ToList();
            return modes.Count switch
            {
                0 => null,
                1 => modes[0],
                _ => throw new CliUsageException("give only one of --snp, --tdx, --gpu (combine CPU and GPU claims with --claims)"),
            };
        }

        public async Task<EvidenceSet> VerifyAsync(ParseResult parse, string mode, TimeProvider time, CancellationToken ct)
        {
            switch (mode)
            {
                case "snp":
                {
                    var r = await Snp(parse, time, ct).ConfigureAwait(false);
                    return new EvidenceSet([Submodule(SubmoduleKind.Cpu, "snp", r, CollateralHints.SnpOffline)]);
                }

                case "tdx":
                {
                    var r = await Tdx(parse, time, ct).ConfigureAwait(false);
                    return new EvidenceSet([Submodule(SubmoduleKind.Cpu, "tdx", r)]);
                }

                default:
                {
                    var set = await Gpu(parse, time, ct).ConfigureAwait(false);
                    var devices = set.Devices.Select(d => Submodule(
                        d.Claims.TryGetValue("nvidia.device_kind", out var k) && k is "switch" ? SubmoduleKind.Switch : SubmoduleKind.Gpu, "nvidia", d, CollateralHints.Gpu)).ToList();
                    if (set.Combined.Failures.Any(f => f.Check.Contains(".set.", StringComparison.Ordinal)))
                    {
                        // A set-level failure (the same device listed twice) taints the whole set.
                        devices = devices.Select(d => d with { Verified = false, Failures = [.. d.Failures ?? [], .. set.Combined.Failures.Select(f => f.ToString())] }).ToList();
                    }

                    return new EvidenceSet(devices);
                }
            }
        }

        private static SubmoduleEvidence Submodule(SubmoduleKind kind, string tee, VerificationResult r, Func<VerificationFailure, string?>? hint = null) =>
            new(kind, tee, r.Claims, r.Verified, r.Failures.Select(f => hint?.Invoke(f) is { } h ? $"{f} (to supply it: {h})" : f.ToString()).ToList());

        private async Task<VerificationResult> Snp(ParseResult parse, TimeProvider time, CancellationToken ct)
        {
            var evidence = SnpEvidence.Parse(CliOptions.ReadFile(parse.GetValue(_report) ?? throw new CliUsageException("--snp needs --report"), "--report"));
            if (parse.GetValue(_certTable) is { } table)
            {
                evidence = evidence.WithCertTable(CliOptions.ReadFile(table, "--cert-table"));
            }

            X509Certificate2? leaf = parse.GetValue(_vcek) is { } v ? Certificates.LoadOne(CliOptions.ReadFile(v, "--vcek"), "--vcek") : null;
            var chain = parse.GetValue(_chain) is { } c ? Certificates.Load(CliOptions.ReadFile(c, "--cert-chain"), "--cert-chain") : [];
            var sources = new List<ISnpCollateralSource> { SnpCollateralSources.Files(leaf, chain), SnpCollateralSources.Evidence() };
            if (parse.GetValue(_dir) is { } dir)
            {
                sources.Add(Directory.Exists(dir) ? new SnpDirectoryCollateral(dir) : throw new CliUsageException($"--collateral-dir: directory not found: {dir}"));
            }

            return await new SnpVerifier(SnpCollateralSources.Combine([.. sources]), time).VerifyAsync(evidence, ReportData(parse), ct).ConfigureAwait(false);
        }

        private async Task<VerificationResult> Tdx(ParseResult parse, TimeProvider time, CancellationToken ct)
        {
            var quote = CliOptions.ReadFile(parse.GetValue(_quote) ?? throw new CliUsageException("--tdx needs --quote"), "--quote");
            TdxCollateral? collateral = (parse.GetValue(_collateral), parse.GetValue(_dir)) switch
            {
                ({ } file, null) => TdxCollateral.FromJson(CliOptions.ReadFile(file, "--collateral")),
                (null, { } dir) => Directory.Exists(dir) ? TdxDirectoryCollateral.Load(dir) : throw new CliUsageException($"--collateral-dir: directory not found: {dir}"),
                (null, null) => null,
                _ => throw new CliUsageException("give --collateral or --collateral-dir, not both"),
            };
            var replay = parse.GetValue(_eventLog) is { } log ? RtmrReplay.Parse(CliOptions.ReadFile(log, "--event-log")) : null;
            // Without collateral the TCB status cannot be graded; the claims then lack tdx.tcb_status and a
            // policy that needs it fails on "absent".
            var verifier = new TdxVerifier(TdxCollateralSources.Fixed(collateral), time, new TdxVerifierOptions { RequireCollateral = collateral is not null });
            return await verifier.VerifyAsync(quote, ReportData(parse), replay, ct).ConfigureAwait(false);
        }

        private async Task<NvidiaSetResult> Gpu(ParseResult parse, TimeProvider time, CancellationToken ct)
        {
            var evidence = CliOptions.ReadFile(parse.GetValue(_evidence) ?? throw new CliUsageException("--gpu needs --evidence"), "--evidence");
            var chain = parse.GetValue(_chain) is { } c ? Certificates.Load(CliOptions.ReadFile(c, "--cert-chain"), "--cert-chain") : null;
            ReadOnlyMemory<byte>? nonce = null;
            if (parse.GetValue(_nonce) is { } hex)
            {
                var bytes = Hex.Parse(hex, "--nonce");
                nonce = bytes.Length == 32 ? bytes : throw new CliUsageException($"--nonce: expected 32 bytes (64 hex digits), got {bytes.Length}");
            }

            var rims = (parse.GetValue(_rims) ?? []).Select(r => new NvidiaRimFile(r, CliOptions.ReadFile(r, "--rim"))).ToList();
            var verifier = new NvidiaVerifier(NvidiaCollateralSources.Files(rims, []), time);
            return await verifier.VerifyAsync(evidence, chain, nonce, ct).ConfigureAwait(false);
        }

        private ReadOnlyMemory<byte>? ReportData(ParseResult parse)
        {
            if (parse.GetValue(_reportData) is not { } hex)
            {
                return null;
            }

            var bytes = Hex.Parse(hex, "--report-data");
            return bytes.Length == 64 ? bytes : throw new CliUsageException($"--report-data: expected 64 bytes (128 hex digits), got {bytes.Length}");
        }
    }
}
