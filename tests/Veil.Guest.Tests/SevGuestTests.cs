using System.Buffers.Binary;
using Veil.Tests.Shared;

namespace Veil.Guest.Tests;

/// <summary>SNP_GET_EXT_REPORT with only the ioctl replaced: a fake firmware reading and writing the real structs.</summary>
public sealed class SevGuestTests
{
    private static readonly byte[] Report = Vectors.Bytes("go-sev-guest", "verify-testdata", "attestation.bin");
    private static readonly byte[] Vcek = Vectors.Bytes("go-sev-guest", "verify-testdata", "vcek.testcer");

    /// <summary>Behaves like the sev-guest driver + PSP firmware for one request, per include/uapi/linux/sev-guest.h.</summary>
    private sealed class FakeFirmware : ISevGuestDevice
    {
        public int Calls { get; private set; }

        public List<uint> CertLengths { get; } = [];

        public byte[]? UserData { get; private set; }

        public uint NeededCertBytes { get; init; } = 4096;

        public uint Status { get; init; }

        public byte[] ReportBytes { get; init; } = Report;

        public byte[]? CertTable { get; init; }

        public unsafe int Ioctl(uint request, nint argument)
        {
            Calls++;
            Assert.Equal(0xC0205302u, request); // _IOWR('S', 0x2, 32-byte struct snp_guest_request_ioctl)
            var io = new Span<byte>((void*)argument, 32);
            Assert.Equal(1, io[0]);
            var req = new Span<byte>((void*)(nint)BinaryPrimitives.ReadInt64LittleEndian(io[8..]), 112);
            var resp = new Span<byte>((void*)(nint)BinaryPrimitives.ReadInt64LittleEndian(io[16..]), 4000);
            UserData = req[..64].ToArray();
            var certsAddress = (nint)BinaryPrimitives.ReadInt64LittleEndian(req[96..]);
            var certsLength = BinaryPrimitives.ReadUInt32LittleEndian(req[104..]);
            CertLengths.Add(certsLength);
            Assert.Equal(0, certsAddress % 4096);
            if (certsLength < NeededCertBytes)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(req[104..], NeededCertBytes);
                BinaryPrimitives.WriteUInt64LittleEndian(io[24..], 1UL << 32); // VMM error: invalid length
                return -5;
            }

            var table = CertTable ?? DefaultTable();
            table.CopyTo(new Span<byte>((void*)certsAddress, (int)certsLength));
            BinaryPrimitives.WriteUInt32LittleEndian(resp, Status);
            BinaryPrimitives.WriteUInt32LittleEndian(resp[4..], (uint)ReportBytes.Length);
            ReportBytes.CopyTo(resp[32..]);
            return 0;
        }

        /// <summary>GUID table (VCEK GUID, offset, length), all-zero terminator, then the VCEK DER.</summary>
        public static byte[] DefaultTable()
        {
            var t = new byte[48 + Vcek.Length];
            new Guid("63da758d-e664-4564-adc5-f4b93be8accd").TryWriteBytes(t, bigEndian: true, out _);
            BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(16), 48);
            BinaryPrimitives.WriteUInt32LittleEndian(t.AsSpan(20), (uint)Vcek.Length);
            Vcek.CopyTo(t, 48);
            return t;
        }
    }

    [Fact]
    public void Returns_report_and_certificate_table()
    {
        var fw = new FakeFirmware();
        var e = new SevGuestAttester(fw).Collect([1, 2, 3, 4, 5]);
        Assert.Equal(Report, e.Report);
        Assert.Equal(FakeFirmware.DefaultTable(), e.AuxBlob);
        Assert.Equal(("snp", "sev_guest"), (e.Tee, e.Provider));
        Assert.Equal([1, 2, 3, 4, 5, .. new byte[59]], fw.UserData);
        Assert.Equal(1, fw.Calls);
    }

    [Fact]
    public void Retries_once_with_the_certificate_size_the_firmware_asks_for()
    {
        var fw = new FakeFirmware { NeededCertBytes = 5 * 4096 };
        var e = new SevGuestAttester(fw).Collect([1, 2, 3, 4, 5]);
        Assert.Equal(Report, e.Report);
        Assert.Equal([4u * 4096, 5u * 4096], fw.CertLengths);
    }

    [Fact]
    public void Absurd_certificate_size_is_refused()
    {
        var fw = new FakeFirmware { NeededCertBytes = 1u << 30 };
        Assert.Contains("certs_len", Assert.Throws<AttesterException>(() => new SevGuestAttester(fw).Collect([1])).Message);
    }

    [Fact]
    public void Firmware_status_and_report_data_are_checked()
    {
        Assert.Contains("MSG_REPORT_RSP.status: 0x16", Assert.Throws<AttesterException>(() => new SevGuestAttester(new FakeFirmware { Status = 0x16 }).Collect([1, 2, 3, 4, 5])).Message);
        Assert.Contains("report_data", Assert.Throws<AttesterException>(() => new SevGuestAttester(new FakeFirmware()).Collect([9])).Message);
        Assert.Contains("report_size", Assert.Throws<AttesterException>(() => new SevGuestAttester(new FakeFirmware { ReportBytes = Report[..1000] }).Collect([1, 2, 3, 4, 5])).Message);
    }

    [Fact]
    public void Certificate_entry_beyond_buffer_is_refused()
    {
        var table = FakeFirmware.DefaultTable();
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(20), 100_000);
        var ex = Assert.Throws<AttesterException>(() => new SevGuestAttester(new FakeFirmware { CertTable = table }).Collect([1, 2, 3, 4, 5]));
        Assert.Contains("certificate table entry 0", ex.Message);
    }

    [Fact]
    public void Real_device_absent_is_a_clear_error()
    {
        var missing = new LinuxSevGuestDevice("/nonexistent/sev-guest");
        var ex = Assert.Throws<AttesterException>(() => new SevGuestAttester(missing).Collect([1]));
        Assert.Contains("errno 2", ex.Message);
    }
}
