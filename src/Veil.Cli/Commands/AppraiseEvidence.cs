using System.CommandLine;
using Veil.Abi.Tee;
using Veil.Attestation;
using Veil.Attestation.Verification;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;

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
        private readonly Option<string?> _reportData = new("--report-data") { Description = "--snp/--tdx: expected REPORT_DATA (64 bytes hex)" };
        private readonly Option<string?> _quote = new("--quote") { Description = "--tdx: the quote (binary, hex or base64)" };
        private readonly Option<string?> _evidence = new("--evidence") { Description = "--gpu: report (raw, hex, base64) or JSON evidence list" };
        private readonly Option<string?> _nonce = new("--nonce") { Description = "--gpu: expected SPDM request nonce (32 bytes hex)" };

        // The collateral flags of 'veil verify snp|tdx|gpu', read by the same code, so --kds-url, --pcs-url, --rim-service
        // and the rest work here exactly as there.
        private readonly CollateralFlags _collateral = new([TeeNames.Snp, TeeNames.Tdx, TeeNames.Nvidia]);

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { _snp, _tdx, _gpu, _report, _reportData, _quote, _evidence, _nonce }.Concat(_collateral.All))
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
            var (tee, flag, file, binding, length) = mode switch
            {
                "snp" => (TeeNames.Snp, "--report", parse.GetValue(_report), parse.GetValue(_reportData), 64),
                "tdx" => (TeeNames.Tdx, "--quote", parse.GetValue(_quote), parse.GetValue(_reportData), 64),
                _ => (TeeNames.Nvidia, "--evidence", parse.GetValue(_evidence), parse.GetValue(_nonce), 32),
            };
            var bindingFlag = mode == "gpu" ? "--nonce" : "--report-data";
            var evidence = CliOptions.ReadFile(file ?? throw new CliUsageException($"--{mode} needs {flag}"), flag);
            using var http = _collateral.NeedsHttp(parse) ? new HttpClient() : null;
            var factory = new EvidenceVerifierFactory(_collateral.Options(parse, tee, time, http));
            var input = _collateral.Input(parse, tee, evidence) with { ExpectedReportData = Binding(binding, bindingFlag, length) };
            var r = await factory.Create(tee).VerifyAsync(input, ct).ConfigureAwait(false);
            switch (mode)
            {
                case "snp":
                    return new EvidenceSet([Submodule(SubmoduleKind.Cpu, tee, r, CollateralHints.Snp)]);
                case "tdx":
                    return new EvidenceSet([Submodule(SubmoduleKind.Cpu, tee, r, CollateralHints.Tdx)]);
                default:
                {
                    var devices = r.Parts.Select(d => Submodule(
                        d.Claims.TryGetValue("nvidia.device_kind", out var k) && k is "switch" ? SubmoduleKind.Switch : SubmoduleKind.Gpu, tee, d, CollateralHints.Gpu)).ToList();
                    if (r.Failures.Any(f => f.Check.Contains(".set.", StringComparison.Ordinal)))
                    {
                        // A set-level failure (the same device listed twice) taints the whole set.
                        devices = devices.Select(d => d with { Verified = false, Failures = [.. d.Failures ?? [], .. r.Failures.Select(f => f.ToString())] }).ToList();
                    }

                    return new EvidenceSet(devices);
                }
            }
        }

        private static SubmoduleEvidence Submodule(SubmoduleKind kind, string tee, VerificationResult r, Func<VerificationFailure, string?>? hint = null) =>
            new(kind, tee, r.Claims, r.Verified, r.Failures.Select(f => hint?.Invoke(f) is { } h ? $"{f} (to supply it: {h})" : f.ToString()).ToList());

        private static ReadOnlyMemory<byte>? Binding(string? hex, string flag, int length)
        {
            if (hex is null)
            {
                return null;
            }

            var bytes = Hex.Parse(hex, flag);
            return bytes.Length == length ? bytes : throw new CliUsageException($"{flag}: expected {length} bytes ({length * 2} hex digits), got {bytes.Length}");
        }
    }
}
