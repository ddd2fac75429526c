using System.Buffers.Binary;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Veil.Abi.Snp;
using L = Veil.Abi.Snp.SnpReportLayout;

namespace Veil.Attestation.Snp;

/// <summary>
/// Trustee's SNP evidence JSON (<c>{"attestation_report": {...}, "cert_chain": [{"cert_type", "data"}]}</c>, the
/// KBS <c>primary_evidence</c> for tee "snp"). The report there is the field-by-field serde JSON of the Rust
/// <c>sev</c> crate, so it is re-encoded to the 1184-byte layout: the signature covers those bytes, and
/// reserved fields (absent from the JSON) must be zero anyway.
/// </summary>
public static class TrusteeSnpEvidence
{
    public static (byte[] Report, IReadOnlyList<X509Certificate2> Certificates) Parse(ReadOnlySpan<byte> json)
    {
        TrusteeSnpJson doc;
        try
        {
            doc = TrusteeSnpJson.Read(json);
        }
        catch (JsonException e)
        {
            throw new EvidenceFormatException("evidence", "not valid JSON: " + e.Message, e);
        }

        using (doc)
        {
            if (doc.RootType != JsonTokenType.StartObject)
            {
                throw new EvidenceFormatException("evidence", "expected a JSON object");
            }

            if (doc.Report.Fields is not { } report)
            {
                throw new EvidenceFormatException("attestation_report", "missing or not an object");
            }

            var bytes = Encode(new Reader(doc, report, TrusteeSnpJson.Schema.Report, "attestation_report"));
            var certs = new List<X509Certificate2>();
            if (doc.CertChain.Kind is not (TrusteeSnpJson.Kind.Missing or TrusteeSnpJson.Kind.Null))
            {
                if (doc.CertChain.Items is not { } chain)
                {
                    throw new EvidenceFormatException("cert_chain", "expected an array or null");
                }

                for (var i = 0; i < chain.Count; i++)
                {
                    var field = $"cert_chain[{i}]";
                    var entry = chain[i].Fields ?? throw new EvidenceFormatException(field, "expected an object");
                    var data = new Reader(doc, entry, CertEntry, field).Bytes("data", null);
                    certs.Add(Certificates.LoadOne(data, field + ".data"));
                }
            }

            return (bytes, certs);
        }
    }

    private static readonly TrusteeSnpJson.Schema CertEntry = TrusteeSnpJson.Schema.Root.Shapes[1].Items!;

    private static byte[] Encode(Reader r)
    {
        var b = new byte[SnpReport.Size];
        var s = b.AsSpan();
        var version = r.UInt("version", uint.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(s, (uint)version);
        BinaryPrimitives.WriteUInt32LittleEndian(s[L.GuestSvn.Offset..], (uint)r.UInt("guest_svn", uint.MaxValue));
        BinaryPrimitives.WriteUInt64LittleEndian(s[L.Policy.Offset..], r.UInt("policy", ulong.MaxValue));
        r.Bytes("family_id", 16).CopyTo(s[L.FamilyId.Offset..]);
        r.Bytes("image_id", 16).CopyTo(s[L.ImageId.Offset..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[L.Vmpl.Offset..], (uint)r.UInt("vmpl", uint.MaxValue));
        BinaryPrimitives.WriteUInt32LittleEndian(s[L.SignatureAlgorithm.Offset..], (uint)r.UInt("sig_algo", uint.MaxValue));
        WriteTcb(r, "current_tcb", s[L.CurrentTcb.Offset..]);
        BinaryPrimitives.WriteUInt64LittleEndian(s[L.PlatformInfo.Offset..], r.UInt("plat_info", ulong.MaxValue));
        BinaryPrimitives.WriteUInt32LittleEndian(s[L.SignerInfo.Offset..], (uint)r.UInt("key_info", uint.MaxValue));
        r.Bytes("report_data", 64).CopyTo(s[L.ReportData.Offset..]);
        r.Bytes("measurement", 48).CopyTo(s[L.Measurement.Offset..]);
        r.Bytes("host_data", 32).CopyTo(s[L.HostData.Offset..]);
        r.Bytes("id_key_digest", 48).CopyTo(s[L.IdKeyDigest.Offset..]);
        r.Bytes("author_key_digest", 48).CopyTo(s[L.AuthorKeyDigest.Offset..]);
        r.Bytes("report_id", 32).CopyTo(s[L.ReportId.Offset..]);
        r.Bytes("report_id_ma", 32).CopyTo(s[L.ReportIdMa.Offset..]);
        WriteTcb(r, "reported_tcb", s[L.ReportedTcb.Offset..]);
        if (version >= 3)
        {
            s[L.CpuIdFamily.Offset] = (byte)r.UInt("cpuid_fam_id", byte.MaxValue);
            s[L.CpuIdModel.Offset] = (byte)r.UInt("cpuid_mod_id", byte.MaxValue);
            s[L.CpuIdStepping.Offset] = (byte)r.UInt("cpuid_step", byte.MaxValue);
        }

        r.Bytes("chip_id", 64).CopyTo(s[L.ChipId.Offset..]);
        WriteTcb(r, "committed_tcb", s[L.CommittedTcb.Offset..]);
        WriteVersion(r.Object("current"), s[L.CurrentVersion.Offset..]);
        WriteVersion(r.Object("committed"), s[L.CommittedVersion.Offset..]);
        WriteTcb(r, "launch_tcb", s[L.LaunchTcb.Offset..]);
        if (version >= 5)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(s[L.LaunchMitVector.Offset..], r.UInt("launch_mit_vector", ulong.MaxValue));
            BinaryPrimitives.WriteUInt64LittleEndian(s[L.CurrentMitVector.Offset..], r.UInt("current_mit_vector", ulong.MaxValue));
        }

        var sig = r.Object("signature");
        sig.Bytes("r", SnpReport.SignatureComponentLength).CopyTo(s[L.SignatureR.Offset..]);
        sig.Bytes("s", SnpReport.SignatureComponentLength).CopyTo(s[L.SignatureS.Offset..]);
        return b;
    }

    /// <summary>A non-null <c>fmc</c> means the Turin layout, as the sev crate decides when it serializes.</summary>
    private static void WriteTcb(Reader r, string name, Span<byte> dest)
    {
        var t = r.Object(name);
        var fmc = t.OptionalUInt("fmc", byte.MaxValue);
        var parts = new TcbParts(
            fmc is null ? null : (byte)fmc,
            (byte)t.UInt("bootloader", byte.MaxValue),
            (byte)t.UInt("tee", byte.MaxValue),
            (byte)t.UInt("snp", byte.MaxValue),
            (byte)t.UInt("microcode", byte.MaxValue));
        var tcb = TcbVersion.Encode(parts, fmc is null ? TcbLayout.MilanGenoa : TcbLayout.Turin);
        BinaryPrimitives.WriteUInt64LittleEndian(dest, tcb.Raw);
    }

    private static void WriteVersion(Reader v, Span<byte> dest)
    {
        dest[0] = (byte)v.UInt("build", byte.MaxValue);
        dest[1] = (byte)v.UInt("minor", byte.MaxValue);
        dest[2] = (byte)v.UInt("major", byte.MaxValue);
    }

    /// <summary>Typed access to one JSON object's known fields; every error names the full field path.</summary>
    private readonly ref struct Reader(TrusteeSnpJson doc, TrusteeSnpJson.Value[] fields, TrusteeSnpJson.Schema schema, string path)
    {
        public Reader Object(string name)
        {
            var slot = schema.Slot(name);
            var e = Get(slot, name);
            return e.Fields is { } inner
                ? new Reader(doc, inner, schema.Shapes[slot].Fields!, $"{path}.{name}")
                : throw new EvidenceFormatException($"{path}.{name}", "expected an object");
        }

        public ulong UInt(string name, ulong max)
        {
            _ = Get(schema.Slot(name), name);
            return OptionalUInt(name, max) ?? throw new EvidenceFormatException($"{path}.{name}", "must not be null");
        }

        /// <summary>Absent or null gives null (older serializations have no <c>fmc</c>).</summary>
        public ulong? OptionalUInt(string name, ulong max)
        {
            var e = fields[schema.Slot(name)];
            if (e.Kind is TrusteeSnpJson.Kind.Missing or TrusteeSnpJson.Kind.Null)
            {
                return null;
            }

            if (e.Kind != TrusteeSnpJson.Kind.Number || !e.IsUInt64 || e.Number > max)
            {
                throw new EvidenceFormatException($"{path}.{name}", $"expected an unsigned integer ≤ {max}");
            }

            return e.Number;
        }

        public ReadOnlySpan<byte> Bytes(string name, int? length)
        {
            var e = Get(schema.Slot(name), name);
            if (e.Kind != TrusteeSnpJson.Kind.Array)
            {
                throw new EvidenceFormatException($"{path}.{name}", "expected an array of bytes");
            }

            if (length is { } n && e.Count != n)
            {
                throw new EvidenceFormatException($"{path}.{name}", $"expected {n} bytes, found {e.Count}");
            }

            if (e.FirstBad >= 0)
            {
                throw new EvidenceFormatException($"{path}.{name}[{e.FirstBad}]", "expected a byte (0–255)");
            }

            return doc.Bytes(e);
        }

        private TrusteeSnpJson.Value Get(int slot, string name) =>
            fields[slot] is { Kind: not TrusteeSnpJson.Kind.Missing } e ? e : throw new EvidenceFormatException($"{path}.{name}", "missing");
    }
}
