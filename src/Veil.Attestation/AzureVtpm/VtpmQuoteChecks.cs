using System.Security.Cryptography;

namespace Veil.Attestation.AzureVtpm;

/// <summary>What the quote checks found, for the claims (the variable data is null when it could not be read).</summary>
internal sealed record VtpmQuoteFindings(TpmQuoteMessage Message, IReadOnlyList<(int Index, byte[] Value)> Pcrs, HclVariableData? VariableData) : IDisposable
{
    public void Dispose() => VariableData?.Dispose();
}

/// <summary>
/// The TPM half shared by both Azure TEEs (Trustee az_snp_vtpm verify_tpm_signature / verify_tpm_nonce /
/// verify_tpm_pcrs / verify_init_data): the quote is signed by the AK named in the HCL variable data, carries the
/// expected report data as extraData, its PCR digest is the digest of the PCR values supplied with it, and PCR 8
/// holds the init-data digest extended once from zero.
/// </summary>
internal static class VtpmQuoteChecks
{
    /// <summary>CoCo's attestation-agent extends the init-data digest into PCR 8 (guest-components az_snp_vtpm INIT_DATA_PCR).</summary>
    public const int InitDataPcr = 8;

    /// <exception cref="EvidenceFormatException">The quote message, signature or PCR list is malformed.</exception>
    public static VtpmQuoteFindings Check(AzureTpmQuote quote, HclReport hcl, ReadOnlyMemory<byte>? expectedReportData, ReadOnlyMemory<byte>? initDataDigest, List<VerificationFailure> failures)
    {
        var message = TpmQuoteMessage.Parse(quote.Message);
        if (message.PcrSelections is not [{ HashAlgorithm: TpmConstants.AlgSha256 } bank])
        {
            throw new EvidenceFormatException("tpm_quote.message.pcr_select",
                $"[{string.Join(", ", message.PcrSelections.Select(s => $"{s.HashName}:{s.Pcrs.Count} PCRs"))}]; expected exactly one SHA-256 bank");
        }

        if (quote.Pcrs.Count != bank.Pcrs.Count)
        {
            throw new EvidenceFormatException("tpm_quote.pcrs", $"{quote.Pcrs.Count} values for the {bank.Pcrs.Count} PCRs the quote selects");
        }

        var pcrs = bank.Pcrs.Select((index, i) => (index, quote.Pcrs[i])).ToList();
        HclVariableData? variableData = null;
        try
        {
            variableData = HclVariableData.Parse(hcl.VariableData);
        }
        catch (EvidenceFormatException e)
        {
            // The variable data is signed (its digest is in the hardware report): a broken one is a failed check, reported beside the digest.
            failures.Add(new("hcl.ak_pub", $"an '{HclVariableData.AkKeyId}' JWK in the HCL variable data", e.Message));
        }

        var hash = HashAlgorithmName.SHA256;
        if (variableData is not null)
        {
            var signature = TpmSignature.Parse(quote.Signature, variableData.Ak);
            hash = TpmConstants.Hash(signature.HashAlgorithm) ?? hash;
            if (variableData.Ak.Verify(signature, message.Raw.Span) is { } why)
            {
                failures.Add(new("tpm_quote.signature", $"a valid {signature.AlgorithmName} signature by the HCL report's AK (sha256:{variableData.Ak.SubjectPublicKeyInfoSha256})", why));
            }
        }

        if (expectedReportData is { } expected && !CryptographicOperations.FixedTimeEquals(expected.Span, message.ExtraData.Span))
        {
            failures.Add(new("tpm_quote.report_data", Hex.Lower(expected.Span), Hex.Lower(message.ExtraData.Span)));
        }

        var digest = PcrDigest(hash, quote.Pcrs);
        if (!digest.AsSpan().SequenceEqual(message.PcrDigest.Span))
        {
            failures.Add(new("tpm_quote.pcr_digest", $"{Hex.Lower(message.PcrDigest.Span)} (the quote's)", $"{Hex.Lower(digest)} ({hash.Name} of the supplied PCR values)"));
        }

        if (initDataDigest is { } init)
        {
            CheckInitData(init.Span, pcrs, failures);
        }

        return new VtpmQuoteFindings(message, pcrs, variableData);
    }

    /// <summary>The value PCR 8 must hold after one extend of <paramref name="initDataDigest"/> from zero: SHA-256(0³² ‖ digest).</summary>
    public static byte[] ExpectedInitDataPcr(ReadOnlySpan<byte> initDataDigest)
    {
        Span<byte> input = stackalloc byte[64];
        input.Clear();
        initDataDigest.CopyTo(input[32..]);
        return SHA256.HashData(input);
    }

    private static void CheckInitData(ReadOnlySpan<byte> digest, List<(int Index, byte[] Value)> pcrs, List<VerificationFailure> failures)
    {
        if (digest.Length != 32)
        {
            // A PCR of the SHA-256 bank can only be extended with a SHA-256 digest (Trustee requires the same).
            failures.Add(new("init_data.digest", "a SHA-256 digest (32 bytes: init-data with algorithm = \"sha256\")", $"{digest.Length} bytes"));
            return;
        }

        var expected = ExpectedInitDataPcr(digest);
        var pcr8 = pcrs.FirstOrDefault(p => p.Index == InitDataPcr).Value;
        if (pcr8 is null || !pcr8.AsSpan().SequenceEqual(expected))
        {
            failures.Add(new("init_data.pcr08", $"{Hex.Lower(expected)} (SHA-256(0^32 ‖ init-data digest))", pcr8 is null ? "PCR 8 not quoted" : Hex.Lower(pcr8)));
        }
    }

    private static byte[] PcrDigest(HashAlgorithmName hash, IReadOnlyList<byte[]> pcrs)
    {
        using var h = IncrementalHash.CreateHash(hash);
        foreach (var pcr in pcrs)
        {
            h.AppendData(pcr);
        }

        return h.GetHashAndReset();
    }
}
