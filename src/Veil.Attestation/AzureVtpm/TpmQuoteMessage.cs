namespace Veil.Attestation.AzureVtpm;

/// <summary>One TPMS_PCR_SELECTION: a PCR bank and the PCR indices selected in it, ascending.</summary>
public sealed record TpmPcrSelection(ushort HashAlgorithm, IReadOnlyList<int> Pcrs)
{
    public string HashName => TpmConstants.HashName(HashAlgorithm);
}

/// <summary>
/// A TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (TPM 2.0 Part 2, §10.12.12 and §10.12.1): what TPM2_Quote signs.
/// <code>
/// magic TPM_GENERATED (UINT32) ‖ type TPMI_ST_ATTEST (UINT16) ‖ qualifiedSigner TPM2B_NAME ‖ extraData TPM2B_DATA
/// ‖ clockInfo { clock UINT64, resetCount UINT32, restartCount UINT32, safe BYTE } ‖ firmwareVersion UINT64
/// ‖ TPMS_QUOTE_INFO { pcrSelect TPML_PCR_SELECTION { count UINT32, [hash UINT16, sizeofSelect BYTE, pcrSelect] },
///   pcrDigest TPM2B_DIGEST }
/// </code>
/// Everything is big-endian. Parsing checks shape and lengths only; the bytes the AK signed are <see cref="Raw"/>.
/// </summary>
public sealed record TpmQuoteMessage
{
    /// <summary>The exact bytes (a private copy): the AK's signature covers all of them.</summary>
    public required ReadOnlyMemory<byte> Raw { get; init; }

    public required ReadOnlyMemory<byte> QualifiedSigner { get; init; }

    /// <summary>The caller's qualifying data (the nonce / report data).</summary>
    public required ReadOnlyMemory<byte> ExtraData { get; init; }

    public required ulong Clock { get; init; }

    public required uint ResetCount { get; init; }

    public required uint RestartCount { get; init; }

    public required bool Safe { get; init; }

    public required ulong FirmwareVersion { get; init; }

    public required IReadOnlyList<TpmPcrSelection> PcrSelections { get; init; }

    public required ReadOnlyMemory<byte> PcrDigest { get; init; }

    /// <exception cref="EvidenceFormatException">Not a well-formed quote attestation (field named).</exception>
    public static TpmQuoteMessage Parse(ReadOnlySpan<byte> bytes, string field = "tpm_quote.message")
    {
        var r = new TpmReader(bytes, field);
        var magic = r.U32("magic");
        if (magic != TpmConstants.GeneratedValue)
        {
            throw new EvidenceFormatException($"{field}.magic", $"0x{magic:x8} is not TPM_GENERATED_VALUE (0xff544347)");
        }

        var type = r.U16("type");
        if (type != TpmConstants.StAttestQuote)
        {
            throw new EvidenceFormatException($"{field}.type", $"0x{type:x4} is not TPM_ST_ATTEST_QUOTE (0x8018)");
        }

        var signer = r.Sized("qualified_signer", TpmConstants.MaxName);
        var extra = r.Sized("extra_data", TpmConstants.MaxDigest);
        var clock = r.U64("clock_info.clock");
        var reset = r.U32("clock_info.reset_count");
        var restart = r.U32("clock_info.restart_count");
        var safe = r.U8("clock_info.safe");
        if (safe > 1)
        {
            throw new EvidenceFormatException($"{field}.clock_info.safe", $"{safe} is not a TPMI_YES_NO (0 or 1)");
        }

        var firmware = r.U64("firmware_version");
        var count = r.U32("pcr_select.count");
        // TPML_PCR_SELECTION holds at most HASH_COUNT entries: one per bank a TPM can implement.
        if (count > 16)
        {
            throw new EvidenceFormatException($"{field}.pcr_select.count", $"{count} selections, at most 16 allowed");
        }

        var selections = new List<TpmPcrSelection>((int)count);
        for (var i = 0; i < count; i++)
        {
            var hash = r.U16($"pcr_select[{i}].hash");
            var size = r.U8($"pcr_select[{i}].sizeof_select");
            if (size > TpmConstants.MaxPcrSelect)
            {
                throw new EvidenceFormatException($"{field}.pcr_select[{i}].sizeof_select", $"{size} bytes, at most {TpmConstants.MaxPcrSelect} allowed");
            }

            var bitmap = r.Take(size, $"pcr_select[{i}].pcr_select");
            var pcrs = new List<int>();
            for (var bit = 0; bit < size * 8; bit++)
            {
                // pcrSelect[n] bit m selects PCR 8n + m.
                if ((bitmap[bit / 8] & (1 << (bit % 8))) != 0)
                {
                    pcrs.Add(bit);
                }
            }

            selections.Add(new TpmPcrSelection(hash, pcrs));
        }

        var digest = r.Sized("pcr_digest", TpmConstants.MaxDigest);
        r.End();

        ReadOnlyMemory<byte> raw = bytes.ToArray();
        return new TpmQuoteMessage
        {
            Raw = raw,
            QualifiedSigner = raw.Slice(signer.Offset, signer.Length),
            ExtraData = raw.Slice(extra.Offset, extra.Length),
            Clock = clock,
            ResetCount = reset,
            RestartCount = restart,
            Safe = safe == 1,
            FirmwareVersion = firmware,
            PcrSelections = selections,
            PcrDigest = raw.Slice(digest.Offset, digest.Length),
        };
    }
}
