using System.Buffers.Binary;
using System.Text.Json;
using Veil.Abi.Snp;
using L = Veil.Abi.Snp.SnpReportLayout;

namespace Veil.Guest;

/// <summary>
/// Writes the KBS <c>primary_evidence</c> for tee "snp" as Trustee's attesters do: the Rust <c>sev</c> crate's serde
/// JSON of the 1184-byte report (field by field, reserved bytes omitted) plus <c>cert_chain</c> from the extended
/// report's certificate table. Hand-written because no .NET library emits that serialization; the inverse lives in
/// Veil.Attestation (TrusteeSnpEvidence), and the tests check that one undoes the other on real reports.
/// </summary>
public static class TrusteeSnpEvidenceWriter
{
    public static JsonElement Write(ReadOnlySpan<byte> report, ReadOnlySpan<byte> certTable)
    {
        if (report.Length < SnpReportCheck.ReportLength)
        {
            throw new AttesterException("snp evidence", $"report: {report.Length} bytes, an SNP report has {SnpReportCheck.ReportLength}");
        }

        var r = report[..L.Length];
        var version = BinaryPrimitives.ReadUInt32LittleEndian(r);
        var turin = version >= L.FirstVersionWithCpuId && r[L.CpuIdFamily.Offset] == L.TurinFamily;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("attestation_report");
            w.WriteNumber("version", version);
            w.WriteNumber("guest_svn", BinaryPrimitives.ReadUInt32LittleEndian(r[L.GuestSvn.Offset..]));
            w.WriteNumber("policy", BinaryPrimitives.ReadUInt64LittleEndian(r[L.Policy.Offset..]));
            Bytes(w, "family_id", L.FamilyId.Of(r));
            Bytes(w, "image_id", L.ImageId.Of(r));
            w.WriteNumber("vmpl", BinaryPrimitives.ReadUInt32LittleEndian(r[L.Vmpl.Offset..]));
            w.WriteNumber("sig_algo", BinaryPrimitives.ReadUInt32LittleEndian(r[L.SignatureAlgorithm.Offset..]));
            Tcb(w, "current_tcb", r[L.CurrentTcb.Offset..], turin);
            w.WriteNumber("plat_info", BinaryPrimitives.ReadUInt64LittleEndian(r[L.PlatformInfo.Offset..]));
            w.WriteNumber("key_info", BinaryPrimitives.ReadUInt32LittleEndian(r[L.SignerInfo.Offset..]));
            Bytes(w, "report_data", L.ReportData.Of(r));
            Bytes(w, "measurement", L.Measurement.Of(r));
            Bytes(w, "host_data", L.HostData.Of(r));
            Bytes(w, "id_key_digest", L.IdKeyDigest.Of(r));
            Bytes(w, "author_key_digest", L.AuthorKeyDigest.Of(r));
            Bytes(w, "report_id", L.ReportId.Of(r));
            Bytes(w, "report_id_ma", L.ReportIdMa.Of(r));
            Tcb(w, "reported_tcb", r[L.ReportedTcb.Offset..], turin);
            if (version >= 3)
            {
                w.WriteNumber("cpuid_fam_id", r[L.CpuIdFamily.Offset]);
                w.WriteNumber("cpuid_mod_id", r[L.CpuIdModel.Offset]);
                w.WriteNumber("cpuid_step", r[L.CpuIdStepping.Offset]);
            }

            Bytes(w, "chip_id", L.ChipId.Of(r));
            Tcb(w, "committed_tcb", r[L.CommittedTcb.Offset..], turin);
            Version(w, "current", r[L.CurrentVersion.Offset..]);
            Version(w, "committed", r[L.CommittedVersion.Offset..]);
            Tcb(w, "launch_tcb", r[L.LaunchTcb.Offset..], turin);
            if (version >= 5)
            {
                w.WriteNumber("launch_mit_vector", BinaryPrimitives.ReadUInt64LittleEndian(r[L.LaunchMitVector.Offset..]));
                w.WriteNumber("current_mit_vector", BinaryPrimitives.ReadUInt64LittleEndian(r[L.CurrentMitVector.Offset..]));
            }

            w.WriteStartObject("signature");
            Bytes(w, "r", L.SignatureR.Of(r));
            Bytes(w, "s", L.SignatureS.Of(r));
            w.WriteEndObject();
            w.WriteEndObject();
            CertChain(w, certTable);
            w.WriteEndObject();
        }

        using var doc = JsonDocument.Parse(buffer.ToArray());
        return doc.RootElement.Clone();
    }

    private static void Tcb(Utf8JsonWriter w, string name, ReadOnlySpan<byte> t, bool turin)
    {
        var at = turin ? SnpTcbLayout.Turin : SnpTcbLayout.MilanGenoa;
        w.WriteStartObject(name);
        if (at.Fmc is { } fmc)
        {
            w.WriteNumber("fmc", t[fmc]);
        }
        else
        {
            w.WriteNull("fmc");
        }

        w.WriteNumber("bootloader", t[at.Bootloader]);
        w.WriteNumber("tee", t[at.Tee]);
        w.WriteNumber("snp", t[at.Snp]);
        w.WriteNumber("microcode", t[at.Microcode]);
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
        const int entry = SnpCertTableLayout.EntryLength;
        for (var off = 0; off + entry <= table.Length; off += entry)
        {
            var e = table.Slice(off, entry);
            if (!e.ContainsAnyExcept((byte)0))
            {
                break;
            }

            var offset = SnpCertTableLayout.ReadOffset(e);
            var length = SnpCertTableLayout.ReadLength(e);
            if ((ulong)offset + length > (ulong)table.Length)
            {
                throw new AttesterException("snp evidence", $"certificate table entry {off / entry}: offset {offset} + length {length} exceeds the table");
            }

            if (SnpCertTableLayout.Name(SnpCertTableLayout.ReadGuid(e)) is { } type)
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
