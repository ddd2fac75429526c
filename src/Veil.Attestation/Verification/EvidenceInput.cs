using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Verification;

/// <summary>
/// What one verification is asked: the evidence, the values it must be bound to, and the attachments a TEE's
/// evidence may come with as separate files (the KBS JSON forms carry them inside). A verifier refuses an attachment
/// its TEE does not use rather than ignoring it.
/// </summary>
/// <param name="Evidence">The evidence document: for snp a raw, hex or Trustee JSON report; for tdx a quote (binary,
/// hex, base64) or Trustee's <c>{quote, cc_eventlog}</c>; for the Azure vTPM TEEs the attestation-agent JSON; for
/// nvidia an SPDM report or an evidence list; for sample its JSON.</param>
public sealed record EvidenceInput(ReadOnlyMemory<byte> Evidence)
{
    /// <summary>
    /// The report data the evidence must carry (SNP/TDX REPORT_DATA, 64 bytes; a vTPM quote's extraData; the SPDM
    /// request nonce of every GPU, 32 bytes). Null skips the check: only the CLI does that, never the broker.
    /// </summary>
    public ReadOnlyMemory<byte>? ExpectedReportData { get; init; }

    /// <summary>
    /// The init-data digest the TEE was launched with (its length names the algorithm): SNP HOST_DATA, TDX
    /// MRCONFIGID or PCR 8 of a vTPM must hold it (<see cref="Abi.Tee.InitDataFields"/>); a mismatch is the failure
    /// <c>init_data.binding</c>. Null skips the check.
    /// </summary>
    public ReadOnlyMemory<byte>? InitDataDigest { get; init; }

    /// <summary>snp: the extended report's certificate table (configfs-tsm <c>auxblob</c>) for a bare report.</summary>
    public ReadOnlyMemory<byte>? CertTable { get; init; }

    /// <summary>tdx: the CC event log (CCEL data) to replay against RTMR0–3.</summary>
    public ReadOnlyMemory<byte>? EventLog { get; init; }

    /// <summary>nvidia: the device certificate chain (leaf first) for evidence that carries none.</summary>
    public IReadOnlyList<X509Certificate2>? DeviceCertificates { get; init; }
}
