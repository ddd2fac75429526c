using System.Reflection;
using Veil.Abi;
using Veil.Abi.Snp;

namespace Veil.Abi.Tests;

public class SnpLayoutTests
{
    private static List<(string Name, ByteField Field)> ReportFields() =>
        typeof(SnpReportLayout).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(ByteField))
            .Select(f => (f.Name, (ByteField)f.GetValue(null)!))
            .OrderBy(f => f.Item2.Offset)
            .ToList();

    [Fact]
    public void Report_fields_and_reserved_ranges_tile_the_report_without_overlap()
    {
        foreach (var version in new uint[] { 2, 3, 5 })
        {
            var covered = new string?[SnpReportLayout.Length];
            var ranges = ReportFields()
                .Where(f => version >= SnpReportLayout.FirstVersionWithCpuId || !f.Name.StartsWith("CpuId", StringComparison.Ordinal))
                .Where(f => version >= SnpReportLayout.FirstVersionWithMitigationVectors || !f.Name.EndsWith("MitVector", StringComparison.Ordinal))
                .Concat(SnpReportLayout.MustBeZero(version).Select(r => (r.Name, r.Field)));
            foreach (var (name, field) in ranges)
            {
                for (var i = field.Offset; i < field.End; i++)
                {
                    Assert.True(covered[i] is null, $"v{version}: byte 0x{i:x3} in both {covered[i]} and {name}");
                    covered[i] = name;
                }
            }

            // Every byte up to the signature is a field or must be zero; the signature area is R, S and padding.
            var gaps = Enumerable.Range(0, SnpReportLayout.Length).Where(i => covered[i] is null).ToList();
            Assert.True(gaps.All(i => i >= SnpReportLayout.SignatureS.End), $"v{version}: unaccounted bytes from 0x{gaps.FirstOrDefault():x3}");
        }
    }

    [Fact]
    public void The_signature_starts_where_the_signed_bytes_end()
    {
        Assert.Equal(SnpReportLayout.SignedLength, SnpReportLayout.SignatureR.Offset);
        Assert.Equal(SnpReportLayout.SignatureR.End, SnpReportLayout.SignatureS.Offset);
        Assert.Equal(0x4A0, SnpReportLayout.Length);
        Assert.Equal(new ByteField(0x50, 64), SnpReportLayout.ReportData);
    }

    [Fact]
    public void Tcb_positions_of_each_generation_are_distinct_bytes_of_the_eight()
    {
        foreach (var at in new[] { SnpTcbLayout.MilanGenoa, SnpTcbLayout.Turin })
        {
            int[] positions = [.. new[] { at.Fmc }.OfType<int>(), at.Bootloader, at.Tee, at.Snp, at.Microcode];
            Assert.Equal(positions.Length, positions.Distinct().Count());
            Assert.All(positions, p => Assert.InRange(p, 0, SnpTcbLayout.Length - 1));
        }

        Assert.Null(SnpTcbLayout.MilanGenoa.Fmc);
        Assert.Equal((0, 1, 2, 3, 7), (SnpTcbLayout.Turin.Fmc!.Value, SnpTcbLayout.Turin.Bootloader, SnpTcbLayout.Turin.Tee, SnpTcbLayout.Turin.Snp, SnpTcbLayout.Turin.Microcode));
        Assert.Equal((0, 1, 6, 7), (SnpTcbLayout.MilanGenoa.Bootloader, SnpTcbLayout.MilanGenoa.Tee, SnpTcbLayout.MilanGenoa.Snp, SnpTcbLayout.MilanGenoa.Microcode));
    }

    /// <summary>
    /// An entry as go-sev-guest's abi writes it (<c>copy(data[0:16], uuid.Parse(VcekGUID))</c>, RFC 4122 byte order)
    /// and as virtee's snphost does (<c>Uuid::as_bytes</c>): the string's hex digits in order.
    /// </summary>
    [Fact]
    public void Cert_table_guids_read_in_the_byte_order_hosts_write()
    {
        byte[] entry =
        [
            0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
            0x30, 0x00, 0x00, 0x00, 0x10, 0x05, 0x00, 0x00,
        ];
        Assert.Equal(SnpCertTableLayout.Vcek, SnpCertTableLayout.ReadGuid(entry));
        Assert.Equal("VCEK", SnpCertTableLayout.Name(SnpCertTableLayout.ReadGuid(entry)));
        Assert.Equal(0x30u, SnpCertTableLayout.ReadOffset(entry));
        Assert.Equal(0x510u, SnpCertTableLayout.ReadLength(entry));

        var written = new byte[SnpCertTableLayout.EntryLength];
        SnpCertTableLayout.Write(written, SnpCertTableLayout.Vcek, 0x30, 0x510);
        Assert.Equal(entry, written);

        // .NET's default (mixed-endian) order would put 8d 75 da 63 first: such a table names no known certificate.
        var mixed = (byte[])entry.Clone();
        SnpCertTableLayout.Vcek.TryWriteBytes(mixed.AsSpan(0, 16), bigEndian: false, out _);
        Assert.Null(SnpCertTableLayout.Name(SnpCertTableLayout.ReadGuid(mixed)));
    }

    [Fact]
    public void Amd_components_round_trip_and_refuse_what_does_not_fit()
    {
        var bigEndian = Enumerable.Range(1, 48).Select(i => (byte)i).ToArray();
        var le = AmdEcdsa.ToLittleEndian72(bigEndian);
        Assert.Equal(72, le.Length);
        Assert.Equal(48, le[0]);
        Assert.Equal(1, le[47]);
        Assert.All(le[48..], b => Assert.Equal(0, b));
        var back = new byte[48];
        AmdEcdsa.ToBigEndian48(le, back);
        Assert.Equal(bigEndian, back);
        Assert.Throws<ArgumentException>(() => AmdEcdsa.ToLittleEndian72(new byte[73]));
    }
}
