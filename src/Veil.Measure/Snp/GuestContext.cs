using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Veil.Measure.Snp;

/// <summary>
/// The SEV-SNP launch digest as the PSP accumulates it during SNP_LAUNCH_UPDATE: for every page,
/// digest = SHA-384(PAGE_INFO), where PAGE_INFO (SNP firmware ABI, "Layout of the PAGE_INFO structure",
/// 0x70 bytes) holds the previous digest, the page's contents digest, its type and its GPA.
/// </summary>
internal sealed class GuestContext
{
    public const int DigestSize = 48;
    public const int PageSize = 4096;

    /// <summary>VMSA pages are recorded at GPA (u64)-1, page-aligned, bits above 51 cleared.</summary>
    private const ulong VmsaGpa = 0xFFFF_FFFF_F000;

    private const int PageInfoSize = 0x70;

    private readonly byte[] _digest = new byte[DigestSize];
    private readonly byte[] _pageInfo = new byte[PageInfoSize];

    public GuestContext(ReadOnlySpan<byte> seed = default)
    {
        if (!seed.IsEmpty)
        {
            if (seed.Length != DigestSize)
            {
                throw new MeasureException("--ovmf-hash", $"{seed.Length} bytes given, a SHA-384 value has {DigestSize}");
            }

            seed.CopyTo(_digest);
        }
    }

    private enum PageType : byte
    {
        Normal = 0x01,
        Vmsa = 0x02,
        Zero = 0x03,
        Unmeasured = 0x04,
        Secrets = 0x05,
        Cpuid = 0x06,
    }

    public byte[] Digest => (byte[])_digest.Clone();

    public void AddNormalPages(ulong gpa, ReadOnlySpan<byte> data)
    {
        if (data.Length % PageSize != 0)
        {
            throw new MeasureException("pages", $"{data.Length} bytes is not a whole number of pages");
        }

        Span<byte> hash = stackalloc byte[DigestSize];
        for (var offset = 0; offset < data.Length; offset += PageSize)
        {
            SHA384.HashData(data.Slice(offset, PageSize), hash);
            Update(PageType.Normal, gpa + (ulong)offset, hash);
        }
    }

    public void AddVmsaPage(ReadOnlySpan<byte> page)
    {
        Span<byte> hash = stackalloc byte[DigestSize];
        SHA384.HashData(page, hash);
        Update(PageType.Vmsa, VmsaGpa, hash);
    }

    public void AddZeroPages(ulong gpa, uint length) => AddEmpty(PageType.Zero, gpa, length);

    public void AddUnmeasuredPages(ulong gpa, uint length) => AddEmpty(PageType.Unmeasured, gpa, length);

    public void AddSecretsPage(ulong gpa) => Update(PageType.Secrets, gpa, stackalloc byte[DigestSize]);

    public void AddCpuidPage(ulong gpa) => Update(PageType.Cpuid, gpa, stackalloc byte[DigestSize]);

    private void AddEmpty(PageType type, ulong gpa, uint length)
    {
        if (length % PageSize != 0)
        {
            throw new MeasureException("ovmf.sev_metadata", $"section of {length} bytes at 0x{gpa:x} is not a whole number of pages");
        }

        Span<byte> zero = stackalloc byte[DigestSize];
        for (ulong offset = 0; offset < length; offset += PageSize)
        {
            Update(type, gpa + offset, zero);
        }
    }

    private void Update(PageType type, ulong gpa, ReadOnlySpan<byte> contents)
    {
        var p = _pageInfo.AsSpan();
        _digest.CopyTo(p);
        contents.CopyTo(p[DigestSize..]);
        BinaryPrimitives.WriteUInt16LittleEndian(p[96..], PageInfoSize);
        p[98] = (byte)type;
        p[99] = 0; // IS_IMI
        p[100] = 0; // VMPL3 permissions
        p[101] = 0; // VMPL2 permissions
        p[102] = 0; // VMPL1 permissions
        p[103] = 0; // reserved
        BinaryPrimitives.WriteUInt64LittleEndian(p[104..], gpa);
        SHA384.HashData(p, _digest);
    }
}
