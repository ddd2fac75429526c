namespace Veil.Attestation.Snp;

/// <summary>GUEST_POLICY (SEV-SNP ABI "GUEST_POLICY" table), decoded by name.</summary>
public readonly record struct GuestPolicy(ulong Raw)
{
    public byte AbiMinor => (byte)Raw;

    public byte AbiMajor => (byte)(Raw >> 8);

    public bool Smt => Bit(16);

    /// <summary>Bit 17 is reserved and must be one.</summary>
    public bool Reserved17 => Bit(17);

    public bool MigrateMa => Bit(18);

    public bool Debug => Bit(19);

    public bool SingleSocket => Bit(20);

    public bool CxlAllow => Bit(21);

    public bool MemAes256Xts => Bit(22);

    public bool RaplDis => Bit(23);

    public bool CiphertextHiding => Bit(24);

    public bool PageSwapDisable => Bit(25);

    /// <summary>Bits 63:26 must be zero.</summary>
    public ulong ReservedHigh => Raw >> 26;

    private bool Bit(int n) => ((Raw >> n) & 1) != 0;
}

/// <summary>PLATFORM_INFO, decoded by name.</summary>
public readonly record struct PlatformInfo(ulong Raw)
{
    public bool SmtEnabled => Bit(0);

    public bool TsmeEnabled => Bit(1);

    public bool EccEnabled => Bit(2);

    public bool RaplDisabled => Bit(3);

    public bool CiphertextHidingEnabled => Bit(4);

    public bool AliasCheckComplete => Bit(5);

    public bool TioEnabled => Bit(7);

    private bool Bit(int n) => ((Raw >> n) & 1) != 0;
}

/// <summary>Which key signed the report (bits 4:2 of the signer-info word).</summary>
public enum SnpSigningKey
{
    Vcek = 0,
    Vlek = 1,
    None = 7,
}

/// <summary>The signer-info word at 0x048: author key, chip-key masking and the signing key.</summary>
public readonly record struct SignerInfo(uint Raw)
{
    public bool AuthorKeyEnabled => (Raw & 1) != 0;

    public bool MaskChipKey => (Raw & 2) != 0;

    /// <summary>The raw 3-bit field; values 2–6 are reserved.</summary>
    public int SigningKeyField => (int)((Raw >> 2) & 7);

    public SnpSigningKey? SigningKey => SigningKeyField switch
    {
        0 => SnpSigningKey.Vcek,
        1 => SnpSigningKey.Vlek,
        7 => SnpSigningKey.None,
        _ => null,
    };

    /// <summary>Bits 31:5 must be zero.</summary>
    public uint ReservedHigh => Raw >> 5;
}
