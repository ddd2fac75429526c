using System.Buffers.Binary;
using System.Text.Json;

namespace Veil.Guest;

/// <summary>
/// Writes the KBS <c>primary_evidence</c> for tee "snp" as Trustee's attesters do: the Rust <c>sev</c> crate's serde
/// JSON of the 1184-byte report (field by field, reserved bytes omitted) plus <c>cert_chain</c> from the extended
/// report's certificate table. Hand-written because no .NET library emits that serialization; the inverse lives in
/// Veil.Attestation (TrusteeSnpEvidence), and the tests check that one undoes the other on real reports.
/// </summary>
public static class TrusteeSnpEvidenceWriter
{
    private const byte TurinFamily = 0x1A;

    private static readonly Dictionary<Guid, string> CertTypes = new()
    {
        [new Guid("63da758d-e664-4564-adc5-f4b93be8accd")] = "VCEK",
        [new Guid("a8074bc2-a25a-483e-aae6-39c045a0b8a1")] = "VLEK",
        [new Guid("4ab7b379-bbac-4fe4-a02f-05aef327c782")] = "ASK",
        [new Guid("c0b406a4-a803-4952-9743-3fb6014cd0ae")] = "ARK",
    };

    public static JsonElement Write(ReadOnlySpan<byte> report, ReadOnlySpan<byte> certTable)
    {
        if (report.Length < SnpReportLayout.ReportLength)
        {
            throw new AttesterException("snp evidence", $"report: {report.Length} bytes, an SNP report has {SnpReportLayout.ReportLength}");
        }

        var r = report[..SnpReportLayout.ReportLength];
        var version = BinaryPrimitives.ReadUInt32LittleEndian(r);
        var turin = version >= 3 && r[0x188] == TurinFamily;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("attestation_report");
            w.WriteNumber("version", version);
            w.WriteNumber("guest_svn", BinaryPrimitives.ReadUInt32LittleEndian(r[0x004..]));
            w.WriteNumber("policy", BinaryPrimitives.ReadUInt64LittleEndian(r[0x008..]));
            Bytes(w, "family_id", r.Slice(0x010, 16));
            Bytes(w, "image_id", r.Slice(0x020, 16));
            w.WriteNumber("vmpl", BinaryPrimitives.ReadUInt32LittleEndian(r[0x030..]));
            w.WriteNumber("sig_algo", BinaryPrimitives.ReadUInt32LittleEndian(r[0x034..]));
            Tcb(w, "current_tcb", r[0x038..], turin);
            w.WriteNumber("plat_info", BinaryPrimitives.ReadUInt64LittleEndian(r[0x040..]));
            w.WriteNumber("key_info", BinaryPrimitives.ReadUInt32LittleEndian(r[0x048..]));
            Bytes(w, "report_data", r.Slice(0x050, 64));
            Bytes(w, "measurement", r.Slice(0x090, 48));
            Bytes(w, "host_data", r.Slice(0x0C0, 32));
            Bytes(w, "id_key_digest", r.Slice(0x0E0, 48));
            Bytes(w, "author_key_digest", r.Slice(0x110, 48));
            Bytes(w, "report_id", r.Slice(0x140, 32));
            Bytes(w, "report_id_ma", r.Slice(0x160, 32));
            Tcb(w, "reported_tcb", r[0x180..], turin);
            if (version >= 3)
            {
                w.WriteNumber("cpuid_fam_id", r[0x188]);
                w.WriteNumber("cpuid_mod_id", r[0x189]);
                w.WriteNumber("cpuid_step", r[0x18A]);
            }

            Bytes(w, "chip_id", r.Slice(0x1A0, 64));
            Tcb(w, "committed_tcb", r[0x1E0..], turin);
            Version(w, "current", r[0x1E8..]);
            Version(w, "committed", r[0x1EC..]);
            Tcb(w, "launch_tcb", r[0x1F0..], turin);
            if (version >= 5)
            {
                w.WriteNumber("launch_mit_vector", BinaryPrimitives.ReadUInt64LittleEndian(r[0x1F8..]));
                w.WriteNumber("current_mit_vector", BinaryPrimitives.ReadUInt64LittleEndian(r[0x200..]));
            }

            w.WriteStartObject("signature");
            Bytes(w, "r", r.Slice(0x2A0, 72));
            Bytes(w, "s", r.Slice(0x2E8, 72));
            w.WriteEndObject();
            w.WriteEndObject();
            CertChain(w, certTable);
            w.WriteEndObject();
        }

        using var doc = JsonDocument.Parse(buffer.ToArray());
        return doc.RootElement.Clone();
    }

    /// <summary>Milan/Genoa: bootloader, tee, 4 reserved, snp, microcode. Turin: fmc, bootloader, tee, snp, 3 reserved, microcode.</summary>
    private static void Tcb(Utf8JsonWriter w, string name, ReadOnlySpan<byte> t, bool turin)
    {
        w.WriteStartObject(name);
        if (turin)
        {
            w.WriteNumber("fmc", t[0]);
        }
        else
        {
            w.WriteNull("fmc");
        }

        w.WriteNumber("bootloader", turin ? t[1] : t[0]);
        w.WriteNumber("tee", turin ? t[2] : t[1]);
        w.WriteNumber("snp", turin ? t[3] : t[6]);
        w.WriteNumber("microcode", t[7]);
        w.WriteEndObject();
    }

    private static void Version(Utf8JsonWriter w, string name, ReadOnlySpan<byte> v)
    {
        w.WriteStartObject(name);
        w.WriteNumber("major", v[2]);
        w.WriteNumber("minor", v[1]);
        w.WriteNumber("build", v[0]);
        w.WriteEndObject();
    }

    private static void Bytes(Utf8JsonWriter w, string name, ReadOnlySpan<byte> bytes)
    {
        w.WriteStartArray(name);
        foreach (var b in bytes)
        {
            w.WriteNumberValue(b);
        }

        w.WriteEndArray();
    }

    /// <summary>Certificate table: 24-byte entries (GUID, offset, length) up to an all-zero one; unknown GUIDs are left out.</summary>
    private static void CertChain(Utf8JsonWriter w, ReadOnlySpan<byte> table)
    {
        if (table.IsEmpty)
        {
            w.WriteNull("cert_chain");
            return;
        }

        w.WriteStartArray("cert_chain");
        for (var off = 0; off + 24 <= table.Length; off += 24)
        {
            var e = table.Slice(off, 24);
            if (!e.ContainsAnyExcept((byte)0))
            {
                break;
            }

            var offset = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(e[20..]);
            if ((ulong)offset + length > (ulong)table.Length)
            {
                throw new AttesterException("snp evidence", $"certificate table entry {off / 24}: offset {offset} + length {length} exceeds the table");
            }

            if (CertTypes.TryGetValue(new Guid(e[..16], bigEndian: true), out var type))
            {
                w.WriteStartObject();
                w.WriteString("cert_type", type);
                Bytes(w, "data", table.Slice((int)offset, (int)length));
                w.WriteEndObject();
            }
        }

        w.WriteEndArray();
    }
}
