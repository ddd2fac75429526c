using System.CommandLine;
using Veil.Abi.Tee;
using Veil.Attestation;
using Veil.Attestation.Verification;
using Veil.Measure;
using Veil.Measure.InitData;

namespace Veil.Cli.Commands;

/// <summary>
/// <c>veil verify &lt;tee&gt;</c>: one sub-verb per evidence kind, all built the same way: the evidence flag, the
/// binding flags, the shared <see cref="CollateralFlags"/>, then the TEE's verifier from
/// <see cref="EvidenceVerifierFactory"/> (the one the broker uses), with the same exit codes and JSON shape.
/// </summary>
internal static class VerifyCommands
{
    /// <summary>How a verb differs from the others: its evidence flag, what --report-data may hold, its hints.</summary>
    private sealed record Verb(
        string Tee, string Name, string Description, string EvidenceFlag, string EvidenceText, string BindingFlag, string BindingText, Func<int, string?> BindingLength,
        bool InitData, bool Attachments, Func<VerificationFailure, string?>? Hints);

    private static readonly Verb[] Verbs =
    [
        new(TeeNames.Snp, "snp", "Verify an AMD SEV-SNP attestation report against AMD's roots.",
            "--report", "The report: raw 1184 bytes, hex text, or Trustee's SNP evidence JSON", "--report-data", "Expected REPORT_DATA, 64 bytes as hex", Exactly(64, "128 hex digits"),
            InitData: true, Attachments: true, CollateralHints.Snp),
        new(TeeNames.Nvidia, "gpu", "Verify NVIDIA GPU and NVSwitch attestation reports against NVIDIA's roots and reference manifests.",
            "--evidence", "The report (raw, hex or base64 SPDM bytes) or an evidence list as NVIDIA's SDKs and Trustee write it (JSON)",
            "--nonce", "The nonce the verifier sent (32 bytes as hex); compared with each report's request nonce", Exactly(32, "64 hex digits"),
            InitData: false, Attachments: true, CollateralHints.Gpu),
        new(TeeNames.Tdx, "tdx", "Verify an Intel TDX DCAP quote against Intel's root, CRLs and TCB Info, offline.",
            "--quote", "The TDX DCAP quote (v4/v5): binary, hex text (with or without 0x) or base64", "--report-data", "Expected REPORT_DATA, 64 bytes as hex", Exactly(64, "128 hex digits"),
            InitData: true, Attachments: true, CollateralHints.Tdx),
        new(TeeNames.AzSnpVtpm, "az-snp-vtpm", "Verify Azure SEV-SNP confidential VM evidence: vTPM quote, HCL report and SNP report.",
            "--evidence", "The evidence JSON (attestation-agent layout v0, v1 or v2)",
            "--report-data", "Expected report data (TPM quote extraData), up to 64 bytes as hex; KBS: the 48-byte binding", AtMost(64),
            InitData: true, Attachments: false, null),
        new(TeeNames.AzTdxVtpm, "az-tdx-vtpm", "Verify Azure TDX confidential VM evidence: vTPM quote, HCL report and TD quote.",
            "--evidence", "The evidence JSON (attestation-agent layout v0, v1 or v2)",
            "--report-data", "Expected report data (TPM quote extraData), up to 64 bytes as hex; KBS: the 48-byte binding", AtMost(64),
            InitData: true, Attachments: false, null),
    ];

    public static Command Create()
    {
        var verify = new Command("verify", "Verify attestation evidence offline against the vendors' roots.");
        foreach (var verb in Verbs)
        {
            verify.Add(Create(verb));
        }

        return verify;
    }

    private static Command Create(Verb verb)
    {
        var evidence = new Option<string>(verb.EvidenceFlag) { Description = verb.EvidenceText, Required = true };
        var binding = new Option<string?>(verb.BindingFlag) { Description = verb.BindingText };
        var initData = new Option<string?>("--init-data") { Description = "The init-data TOML the TEE was launched with: its digest must be in HOST_DATA (snp), MRCONFIGID (tdx) or PCR 8 (Azure vTPM)" };
        var initDigest = new Option<string?>("--init-data-digest") { Description = "The init-data digest instead of the document, as hex" };
        var at = new Option<string?>("--at") { Description = "Verify as of this ISO-8601 time (default: now)" };
        var output = CliOptions.Output("text", "json");
        var flags = new CollateralFlags([verb.Tee], verb.Attachments);

        var cmd = new Command(verb.Name, verb.Description) { evidence, binding };
        foreach (var o in flags.All)
        {
            cmd.Add(o);
        }

        if (verb.InitData)
        {
            cmd.Add(initData);
            cmd.Add(initDigest);
        }

        cmd.Add(at);
        cmd.Add(output);
        cmd.SetAction((parse, ct) => CliErrors.GuardAsync(parse, async () =>
        {
            var time = CliOptions.TimeAt(parse.GetValue(at));
            using var http = flags.NeedsHttp(parse) ? new HttpClient() : null;
            var factory = new EvidenceVerifierFactory(flags.Options(parse, verb.Tee, time, http));
            var input = flags.Input(parse, verb.Tee, CliOptions.ReadFile(parse.GetValue(evidence)!, verb.EvidenceFlag)) with
            {
                ExpectedReportData = Binding(parse.GetValue(binding), verb),
                InitDataDigest = verb.InitData ? InitDigest(parse.GetValue(initData), parse.GetValue(initDigest), Pcr8Bound(verb.Tee)) : null,
            };
            var result = await factory.Create(verb.Tee).VerifyAsync(input, ct).ConfigureAwait(false);
            return VerificationOutput.Write(result, parse.GetValue(output)!, parse.InvocationConfiguration.Output, verb.Hints);
        }));
        return cmd;
    }

    private static ReadOnlyMemory<byte>? Binding(string? hex, Verb verb)
    {
        if (hex is null)
        {
            return null;
        }

        var bytes = Hex.Parse(hex, verb.BindingFlag);
        return verb.BindingLength(bytes.Length) is { } why ? throw new CliUsageException($"{verb.BindingFlag}: {why}") : bytes;
    }

    /// <summary>The digest of <c>--init-data</c> (with the algorithm the document names) or <c>--init-data-digest</c>.</summary>
    internal static ReadOnlyMemory<byte>? InitDigest(string? file, string? digestHex, bool sha256Only)
    {
        if (file is not null && digestHex is not null)
        {
            throw new CliUsageException("--init-data and --init-data-digest are alternatives");
        }

        if (digestHex is not null)
        {
            var d = Hex.Parse(digestHex, "--init-data-digest");
            if (sha256Only && d.Length != 32)
            {
                throw new CliUsageException($"--init-data-digest: {d.Length} bytes, a SHA-256 digest has 32 (PCR 8 of the SHA-256 bank binds only sha256)");
            }

            return d.Length is 32 or 48 or 64 ? d : throw new CliUsageException($"--init-data-digest: {d.Length} bytes; a sha256, sha384 or sha512 digest has 32, 48 or 64");
        }

        if (file is null)
        {
            return null;
        }

        try
        {
            var m = InitDataDigest.Compute(CliOptions.ReadFile(file, "--init-data"));
            return !sha256Only || m.Algorithm == "sha256" ? m.Digest
                : throw new CliUsageException($"--init-data: algorithm '{m.Algorithm}'; PCR 8 of the SHA-256 bank can only bind a sha256 init-data digest");
        }
        catch (MeasureException e)
        {
            throw new CliUsageException($"--init-data: {e.Message}");
        }
    }

    /// <summary>The Azure vTPM TEEs carry init-data in PCR 8 of the SHA-256 bank.</summary>
    private static bool Pcr8Bound(string tee) => tee is TeeNames.AzSnpVtpm or TeeNames.AzTdxVtpm;

    private static Func<int, string?> Exactly(int length, string digits) => n => n == length ? null : $"expected {length} bytes ({digits}), got {n}";

    private static Func<int, string?> AtMost(int length) => n => n <= length ? null : $"{n} bytes, a TPM quote's extraData holds at most {length}";
}
