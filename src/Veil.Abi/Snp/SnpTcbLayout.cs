namespace Veil.Abi.Snp;

/// <summary>Byte layout of a TCB_VERSION: Milan and Genoa share one, Turin added FMC and moved the fields.</summary>
public enum TcbLayout
{
    /// <summary>byte0 boot loader, byte1 TEE, bytes2–5 reserved, byte6 SNP, byte7 microcode.</summary>
    MilanGenoa,

    /// <summary>byte0 FMC, byte1 boot loader, byte2 TEE, byte3 SNP, bytes4–6 reserved, byte7 microcode.</summary>
    Turin,
}

/// <summary>
/// Which byte of the 8-byte TCB_VERSION holds which security patch level (SEV-SNP ABI spec, "TCB_VERSION"; Turin
/// per ABI 1.57+). <see cref="Fmc"/> is null where the layout has none.
/// </summary>
public readonly record struct SnpTcbLayout(int? Fmc, int Bootloader, int Tee, int Snp, int Microcode)
{
    public const int Length = 8;

    public static readonly SnpTcbLayout MilanGenoa = new(Fmc: null, Bootloader: 0, Tee: 1, Snp: 6, Microcode: 7);

    public static readonly SnpTcbLayout Turin = new(Fmc: 0, Bootloader: 1, Tee: 2, Snp: 3, Microcode: 7);

    public static SnpTcbLayout Of(TcbLayout layout) => layout == TcbLayout.Turin ? Turin : MilanGenoa;
}
