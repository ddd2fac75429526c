using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>
/// Legacy SNP path for kernels without configfs-tsm: SNP_GET_EXT_REPORT on /dev/sev-guest, which returns the
/// report and the host-provided certificate table (VCEK/VLEK, ASK, ARK) in one call. When the certificate buffer is
/// too small the firmware says so (VMM error 1) and reports the size needed; the call is retried once with that size.
/// </summary>
public sealed class SevGuestAttester : ICpuAttester
{
    private const string Source = "sev-guest";
    private const int MaxCertPages = 256;

    private readonly ISevGuestDevice device;
    private readonly uint vmpl;

    public SevGuestAttester(ISevGuestDevice? device = null, uint vmpl = 0)
    {
        if (vmpl > 3)
        {
            throw new ArgumentOutOfRangeException(nameof(vmpl), "vmpl must be 0..3");
        }

        this.device = device ?? new LinuxSevGuestDevice();
        this.vmpl = vmpl;
    }

    public string Name => "sev-guest";

    public unsafe CpuEvidence Collect(ReadOnlySpan<byte> reportData)
    {
        if (reportData.Length > 64)
        {
            throw new AttesterException(Source, $"user_data: {reportData.Length} bytes; at most 64");
        }

        var certPages = 4;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var req = (byte*)NativeMemory.AllocZeroed(SevGuestAbi.ExtReportRequestSize);
            var resp = (byte*)NativeMemory.AllocZeroed(SevGuestAbi.ReportResponseSize);
            var ioctl = (byte*)NativeMemory.AllocZeroed(SevGuestAbi.IoctlSize);
            var certLength = certPages * SevGuestAbi.PageSize;
            var certs = (byte*)NativeMemory.AlignedAlloc((nuint)certLength, SevGuestAbi.PageSize);
            try
            {
                new Span<byte>(certs, certLength).Clear();
                var reqSpan = new Span<byte>(req, SevGuestAbi.ExtReportRequestSize);
                reportData.CopyTo(reqSpan);
                BinaryPrimitives.WriteUInt32LittleEndian(reqSpan[SevGuestAbi.VmplOffset..], vmpl);
                BinaryPrimitives.WriteUInt64LittleEndian(reqSpan[SevGuestAbi.CertsAddressOffset..], (ulong)certs);
                BinaryPrimitives.WriteUInt32LittleEndian(reqSpan[SevGuestAbi.CertsLengthOffset..], (uint)certLength);

                var io = new Span<byte>(ioctl, SevGuestAbi.IoctlSize);
                io[SevGuestAbi.IoctlMsgVersionOffset] = 1;
                BinaryPrimitives.WriteUInt64LittleEndian(io[SevGuestAbi.IoctlReqDataOffset..], (ulong)req);
                BinaryPrimitives.WriteUInt64LittleEndian(io[SevGuestAbi.IoctlRespDataOffset..], (ulong)resp);

                var rc = device.Ioctl(SevGuestAbi.SnpGetExtReport, (nint)ioctl);
                var exitInfo2 = BinaryPrimitives.ReadUInt64LittleEndian(io[SevGuestAbi.IoctlExitInfo2Offset..]);
                var fwError = (uint)exitInfo2;
                var vmmError = (uint)(exitInfo2 >> 32);
                if (rc != 0 && vmmError == SevGuestAbi.VmmErrorInvalidLength && attempt == 0)
                {
                    var needed = BinaryPrimitives.ReadUInt32LittleEndian(reqSpan[SevGuestAbi.CertsLengthOffset..]);
                    certPages = (int)((needed + SevGuestAbi.PageSize - 1) / SevGuestAbi.PageSize);
                    if (certPages is 0 or > MaxCertPages)
                    {
                        throw new AttesterException(Source, $"certs_len: firmware asks for {needed} bytes; refusing more than {MaxCertPages} pages");
                    }

                    continue;
                }

                if (rc != 0)
                {
                    throw new AttesterException(Source, $"SNP_GET_EXT_REPORT failed (errno {-rc}, firmware error 0x{fwError:x}, VMM error {vmmError})");
                }

                return Parse(new ReadOnlySpan<byte>(resp, SevGuestAbi.ReportResponseSize), new ReadOnlySpan<byte>(certs, certLength), reportData);
            }
            finally
            {
                NativeMemory.Free(req);
                NativeMemory.Free(resp);
                NativeMemory.Free(ioctl);
                NativeMemory.AlignedFree(certs);
            }
        }

        throw new AttesterException(Source, "certs_len: firmware asked for a larger certificate buffer twice");
    }

    private static CpuEvidence Parse(ReadOnlySpan<byte> resp, ReadOnlySpan<byte> certs, ReadOnlySpan<byte> reportData)
    {
        var status = BinaryPrimitives.ReadUInt32LittleEndian(resp);
        var size = BinaryPrimitives.ReadUInt32LittleEndian(resp[4..]);
        if (status != 0)
        {
            throw new AttesterException(Source, $"MSG_REPORT_RSP.status: 0x{status:x} (firmware refused the report request)");
        }

        if (size < SnpReportCheck.ReportLength || size > SevGuestAbi.ReportResponseSize - 32)
        {
            throw new AttesterException(Source, $"MSG_REPORT_RSP.report_size: {size} is outside {SnpReportCheck.ReportLength}..{SevGuestAbi.ReportResponseSize - 32}");
        }

        var report = resp.Slice(32, (int)size).ToArray();
        SnpReportCheck.CheckReportData(Source, report, reportData);
        return new CpuEvidence(TeeNames.Snp, "sev_guest", report, CertTableBytes(certs));
    }

    /// <summary>The certificate table up to its terminating all-zero entry and the end of the last certificate.</summary>
    private static byte[] CertTableBytes(ReadOnlySpan<byte> certs)
    {
        const int entry = Veil.Abi.Snp.SnpCertTableLayout.EntryLength;
        var end = 0;
        for (var off = 0; off + entry <= certs.Length; off += entry)
        {
            var e = certs.Slice(off, entry);
            if (!e.ContainsAnyExcept((byte)0))
            {
                return end == 0 ? [] : certs[..Math.Max(end, off + entry)].ToArray();
            }

            var offset = Veil.Abi.Snp.SnpCertTableLayout.ReadOffset(e);
            var length = Veil.Abi.Snp.SnpCertTableLayout.ReadLength(e);
            if ((ulong)offset + length > (ulong)certs.Length)
            {
                throw new AttesterException(Source, $"certificate table entry {off / entry}: offset {offset} + length {length} exceeds the {certs.Length}-byte buffer");
            }

            end = Math.Max(end, (int)(offset + length));
        }

        throw new AttesterException(Source, "certificate table: no terminating entry");
    }
}
