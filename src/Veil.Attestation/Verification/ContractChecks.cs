using Veil.Abi.Tee;

namespace Veil.Attestation.Verification;

/// <summary>An attachment the TEE does not use is refused, not ignored: the caller meant it to count.</summary>
internal static class Attachments
{
    public static void Refuse(EvidenceInput input, string tee, bool certTable = false, bool eventLog = false, bool deviceCertificates = false)
    {
        if (certTable && input.CertTable is not null)
        {
            throw new EvidenceFormatException("cert table", $"a certificate table is SNP's; {tee} evidence does not use one");
        }

        if (eventLog && input.EventLog is not null)
        {
            throw new EvidenceFormatException("event log", $"a CC event log is TDX's; {tee} evidence does not use one");
        }

        if (deviceCertificates && input.DeviceCertificates is not null)
        {
            throw new EvidenceFormatException("device certificates", $"a device certificate chain is NVIDIA's; {tee} evidence does not use one");
        }
    }
}

/// <summary>SNP HOST_DATA / TDX MRCONFIGID against an init-data digest, fitted as the launcher fits it.</summary>
internal static class InitDataCheck
{
    public static VerificationResult Field(VerificationResult result, ReadOnlyMemory<byte>? digest, string claim, int length)
    {
        if (digest is not { } d)
        {
            return result;
        }

        var expected = Convert.ToHexStringLower(InitDataFields.Fit(d.Span, length));
        var actual = result.Claims.TryGetValue(claim, out var v) ? v as string : null;
        if (string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            return result;
        }

        return new VerificationResult(result.Tee, result.Claims, [.. result.Failures, new VerificationFailure("init_data.binding", $"{claim} {expected}", actual ?? "absent")], result.Parts);
    }
}
