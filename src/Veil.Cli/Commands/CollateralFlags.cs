using System.CommandLine;
using Veil.Abi.Tee;
using Veil.Attestation;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Verification;

namespace Veil.Cli.Commands;

/// <summary>
/// The collateral and attachment flags of every command that verifies evidence (<c>veil verify &lt;tee&gt;</c>,
/// <c>veil appraise</c>), read into Veil.Attestation's <see cref="CollateralOptions"/> and <see cref="EvidenceInput"/>
/// in one place, so a flag means the same on every verb and a new one reaches all of them.
/// </summary>
internal sealed class CollateralFlags
{
    private static readonly (string Flag, string Tee, string Text)[] Texts =
    [
        ("--vcek", TeeNames.Snp, "VCEK or VLEK certificate (DER or PEM)"),
        ("--cert-chain", TeeNames.Snp, "ASK/ASVK then ARK (AMD KDS cert_chain), or the ASK alone (PEM or DER)"),
        ("--cert-chain", TeeNames.Nvidia, "Device certificate chain, leaf first (PEM), for evidence that does not carry one"),
        ("--cert-table", TeeNames.Snp, "Extended-report certificate table (configfs-tsm auxblob)"),
        ("--collateral-dir", TeeNames.Snp, "Offline collateral directory (the KDS cache layout; see README)"),
        ("--collateral-dir", TeeNames.Tdx, "Offline directory of Intel PCS bodies (tcb_info.json, qe_identity.json, pck_crl.der, root_ca_crl.der, *_issuer_chain.pem)"),
        ("--collateral-dir", TeeNames.Nvidia, "Offline collateral directory (rims/<id>.xml or .corim, ocsp/*.der; the fetcher's cache layout)"),
        ("--kds-url", TeeNames.Snp, "Fetch missing certificates from AMD KDS at this base URL (e.g. https://kdsintf.amd.com), cached in --collateral-dir"),
        ("--collateral", TeeNames.Tdx, "Collateral as one JSON file (dcap-qvl QuoteCollateralV3: tcb_info, qe_identity, CRLs, issuer chains)"),
        ("--pcs-url", TeeNames.Tdx, "Fetch missing collateral from Intel PCS or a PCCS at this base URL (e.g. https://api.trustedservices.intel.com), cached in --collateral-dir"),
        ("--no-collateral", TeeNames.Tdx, "Check signatures and the PCK chain only: no CRLs, no TCB status (tdx.tcb_status absent)"),
        ("--event-log", TeeNames.Tdx, "The TD's CC event log (CCEL data): replayed and compared with RTMR0-3"),
        ("--rim", TeeNames.Nvidia, "A driver or VBIOS RIM: SWID tag XML or CoRIM (CBOR, COSE-signed), told apart by content; repeat for several"),
        ("--ocsp", TeeNames.Nvidia, "A DER OCSP response for a chain certificate; repeat for several"),
        ("--rim-service", TeeNames.Nvidia, "Fetch missing RIMs from NVIDIA's RIM service at this base URL (e.g. https://rim.attestation.nvidia.com), cached in --collateral-dir"),
        ("--ocsp-responder", TeeNames.Nvidia, "Ask this OCSP responder (e.g. https://ocsp.ndis.nvidia.com/) about every chain certificate; needs --rim-service"),
    ];

    private static readonly string[] ServiceFlags = ["--kds-url", "--pcs-url", "--rim-service"];

    private readonly Dictionary<string, Option> _options = new(StringComparer.Ordinal);

    /// <param name="tees">The collateral kinds the command reads: snp (also the Azure SNP vTPM), tdx, nvidia.</param>
    /// <param name="attachments">Whether the command takes --cert-table and --event-log (the Azure evidence carries its own).</param>
    public CollateralFlags(IReadOnlyList<string> tees, bool attachments = true)
    {
        var kinds = tees.Select(Kind).ToHashSet(StringComparer.Ordinal);
        foreach (var group in Texts.Where(t => kinds.Contains(t.Tee) && (attachments || t.Flag is not ("--cert-table" or "--event-log"))).GroupBy(t => t.Flag))
        {
            var texts = group.ToList();
            var description = texts.Count == 1 ? texts[0].Text : string.Join("; ", texts.Select(t => $"--{Mode(t.Tee)}: {t.Text}"));
            _options[group.Key] = group.Key switch
            {
                "--no-collateral" => new Option<bool>(group.Key) { Description = description },
                "--rim" or "--ocsp" => new Option<string[]>(group.Key) { Description = description, DefaultValueFactory = _ => [] },
                _ => new Option<string?>(group.Key) { Description = description },
            };
        }
    }

    public IEnumerable<Option> All => _options.Values;

    /// <summary>Whether a flag asks for a collateral service (the caller then owns an <see cref="HttpClient"/>).</summary>
    public bool NeedsHttp(ParseResult parse) => ServiceFlags.Any(f => Text(parse, f) is not null);

    /// <summary>The collateral options for verifying <paramref name="tee"/> evidence, with every flag combination checked.</summary>
    public CollateralOptions Options(ParseResult parse, string tee, TimeProvider time, HttpClient? http)
    {
        var kind = Kind(tee);
        var dir = Text(parse, "--collateral-dir");
        if (dir is not null && !Directory.Exists(dir))
        {
            throw new CliUsageException($"--collateral-dir: directory not found: {dir}");
        }

        var options = new CollateralOptions { Time = time, Http = http };
        switch (kind)
        {
            case TeeNames.Snp:
                return options with
                {
                    SnpSigningCertificate = Text(parse, "--vcek") is { } v ? Certificates.LoadOne(CliOptions.ReadFile(v, "--vcek"), "--vcek") : null,
                    SnpCertificateChain = Text(parse, "--cert-chain") is { } c ? Certificates.Load(CliOptions.ReadFile(c, "--cert-chain"), "--cert-chain") : [],
                    SnpCollateralDir = dir,
                    KdsUrl = Url(parse, "--kds-url"),
                };

            case TeeNames.Tdx:
            {
                var (file, pcs, skip) = (Text(parse, "--collateral"), Url(parse, "--pcs-url"), Flag(parse, "--no-collateral"));
                if (file is not null && (dir is not null || pcs is not null))
                {
                    throw new CliUsageException("--collateral cannot be combined with --collateral-dir or --pcs-url");
                }

                if (skip && (file is not null || dir is not null || pcs is not null))
                {
                    throw new CliUsageException("--no-collateral cannot be combined with collateral options");
                }

                return options with
                {
                    TdxCollateral = file is null ? null : TdxCollateral.FromJson(CliOptions.ReadFile(file, "--collateral")),
                    TdxCollateralDir = dir,
                    PcsUrl = pcs,
                    TdxWithoutCollateral = skip,
                };
            }

            default:
            {
                var responder = Url(parse, "--ocsp-responder");
                var service = Url(parse, "--rim-service");
                if (responder is not null && service is null)
                {
                    throw new CliUsageException("--ocsp-responder: needs --rim-service (the fetcher that also caches responses)");
                }

                return options with
                {
                    Rims = [.. Many(parse, "--rim").Select(p => new NvidiaRimFile(p, CliOptions.ReadFile(p, "--rim")))],
                    OcspResponses = [.. Many(parse, "--ocsp").Select(p => CliOptions.ReadFile(p, "--ocsp"))],
                    NvidiaCollateralDir = dir,
                    RimServiceUrl = service,
                    OcspResponder = responder,
                };
            }
        }
    }

    /// <summary>The evidence with the attachments given as files: SNP's certificate table, TDX's event log, a GPU's chain.</summary>
    public EvidenceInput Input(ParseResult parse, string tee, byte[] evidence)
    {
        var input = new EvidenceInput(evidence);
        return tee switch
        {
            TeeNames.Snp when Text(parse, "--cert-table") is { } t => input with { CertTable = CliOptions.ReadFile(t, "--cert-table") },
            TeeNames.Tdx when Text(parse, "--event-log") is { } l => input with { EventLog = CliOptions.ReadFile(l, "--event-log") },
            TeeNames.Nvidia when Text(parse, "--cert-chain") is { } c => input with { DeviceCertificates = Certificates.Load(CliOptions.ReadFile(c, "--cert-chain"), "--cert-chain") },
            _ => input,
        };
    }

    /// <summary>Which vendor's collateral a TEE's evidence is checked with.</summary>
    private static string Kind(string tee) => tee switch
    {
        TeeNames.Snp or TeeNames.AzSnpVtpm => TeeNames.Snp,
        TeeNames.Tdx or TeeNames.AzTdxVtpm => TeeNames.Tdx,
        _ => TeeNames.Nvidia,
    };

    private static string Mode(string tee) => tee == TeeNames.Nvidia ? "gpu" : tee;

    private string? Text(ParseResult parse, string flag) => _options.TryGetValue(flag, out var o) && o is Option<string?> s ? parse.GetValue(s) : null;

    private bool Flag(ParseResult parse, string flag) => _options.TryGetValue(flag, out var o) && o is Option<bool> b && parse.GetValue(b);

    private string[] Many(ParseResult parse, string flag) => _options.TryGetValue(flag, out var o) && o is Option<string[]> m ? parse.GetValue(m) ?? [] : [];

    private Uri? Url(ParseResult parse, string flag) => Text(parse, flag) is not { } text ? null
        : Uri.TryCreate(text, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u
        : throw new CliUsageException($"{flag}: expected an absolute http(s) URL");
}
