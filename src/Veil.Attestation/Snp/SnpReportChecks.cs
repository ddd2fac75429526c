namespace Veil.Attestation.Snp;

/// <summary>
/// Checks of the report's own fields that need no certificate: algorithm, signer-info and policy bits
/// that must be zero or one, reserved ranges, signature padding. Whether a field's value is acceptable
/// (debug, VMPL, TCB minimums) is policy, not here.
/// </summary>
internal static class SnpReportChecks
{
    public static void Check(SnpReport r, List<VerificationFailure> failures)
    {
        if (r.SignatureAlgorithm != 1)
        {
            failures.Add(new("report.signature_algo", "1 (ECDSA P-384 with SHA-384)", r.SignatureAlgorithm.ToString()));
        }

        switch (r.SignerInfo.SigningKey)
        {
            case SnpSigningKey.Vcek or SnpSigningKey.Vlek:
                break;
            case SnpSigningKey.None:
                failures.Add(new("report.signing_key", "vcek or vlek", "none (report is unsigned)"));
                break;
            default:
                failures.Add(new("report.signing_key", "vcek or vlek", $"reserved value {r.SignerInfo.SigningKeyField}"));
                break;
        }

        if (r.SignerInfo.ReservedHigh != 0)
        {
            failures.Add(new("report.signer_info.reserved", "0", $"0x{r.SignerInfo.Raw:x8}"));
        }

        if (!r.Policy.Reserved17)
        {
            failures.Add(new("report.policy.reserved17", "1", "0"));
        }

        if (r.Policy.ReservedHigh != 0)
        {
            failures.Add(new("report.policy.reserved", "bits 63:26 zero", r.Policy.ToString()));
        }

        var raw = r.Raw.Span;
        foreach (var (offset, length, name) in r.MustBeZeroRanges())
        {
            if (!Hex.IsZero(raw.Slice(offset, length)))
            {
                failures.Add(new(name, "zero", Hex.Lower(raw.Slice(offset, length))));
            }
        }

        // R and S use the low 48 of their 72 bytes; the rest of the 512-byte signature field is reserved.
        var sig = SnpReport.SignatureComponentSignificant;
        if (!Hex.IsZero(r.SignatureR.Span[sig..]) || !Hex.IsZero(r.SignatureS.Span[sig..]) || !Hex.IsZero(raw[0x330..]))
        {
            failures.Add(new("report.signature.padding", "zero above the 48 significant bytes of R and S", "non-zero"));
        }
    }
}
