using System.Globalization;
using System.Text.Json;
using Veil.Protocol.Json;
using Veil.Protocol.Messages;

namespace Veil.Protocol.AttestedTls;

/// <summary>
/// The body of <c>GET /.well-known/veil/attestation?nonce=…</c> (docs/attested-tls.md, "Evidence document"):
/// CPU evidence in Trustee's per-TEE JSON form, the GPU evidence string it binds, and the values the binding covers.
/// </summary>
/// <param name="Tee">KBS tee name of <paramref name="CpuEvidence"/>: sample, snp or tdx.</param>
/// <param name="IssuedAt">Unix seconds by the gateway's clock, bound into the report data.</param>
/// <param name="GpuEvidence">The NVIDIA <c>{"device_evidence_list": […]}</c> JSON text, or "" when the VM has no GPU.</param>
public sealed record AttestationDocument(
    string Tee,
    byte[] Nonce,
    long IssuedAt,
    byte[] TlsSpkiSha256,
    JsonElement CpuEvidence,
    string GpuEvidence)
{
    /// <summary>A gateway's answer is a few KiB (SNP with its certificate table ~ 10 KiB, TDX with a CCEL more); 1 MiB bounds it.</summary>
    public const int MaxBytes = 1024 * 1024;

    public static readonly IReadOnlySet<string> Tees = new HashSet<string>(StringComparer.Ordinal) { "sample", "snp", "tdx" };

    public byte[] ReportData() =>
        AttestedTlsBinding.CpuReportData(Nonce, TlsSpkiSha256, AttestedTlsBinding.GpuEvidenceDigest(GpuEvidence), IssuedAt);

    public byte[] ToJson() => KbsJson.Serialize(w =>
    {
        w.WriteStartObject();
        w.WriteString("version", AttestedTlsBinding.Version);
        w.WriteString("tee", Tee);
        w.WriteString("nonce", AttestedTlsBinding.FormatNonce(Nonce));
        w.WriteNumber("issued_at", IssuedAt);
        w.WriteString("tls_spki_sha256", Convert.ToHexStringLower(TlsSpkiSha256));
        w.WritePropertyName("cpu_evidence");
        CpuEvidence.WriteTo(w);
        w.WriteString("gpu_evidence", GpuEvidence);
        // Informative: a verifier recomputes it from the fields above and never reads this one.
        w.WriteString("report_data", Convert.ToHexStringLower(ReportData()));
        w.WriteEndObject();
    });

    /// <summary>Strict parse of an untrusted document: every field present with its type; unknown fields are refused.</summary>
    public static AttestationDocument Parse(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.Length > MaxBytes)
        {
            throw new ProtocolFormatException("attestation document", $"{utf8.Length} bytes exceeds the limit of {MaxBytes}");
        }

        using var doc = JsonFields.ParseDocument(utf8, "attestation document");
        var root = JsonFields.RequireObject(doc.RootElement, "attestation document");
        var known = new HashSet<string>(StringComparer.Ordinal) { "version", "tee", "nonce", "issued_at", "tls_spki_sha256", "cpu_evidence", "gpu_evidence", "report_data" };
        foreach (var p in root.EnumerateObject())
        {
            if (!known.Contains(p.Name))
            {
                throw new ProtocolFormatException("attestation document", "unknown field (this verifier reads " + AttestedTlsBinding.Version + ")");
            }
        }

        var version = Text(root, "version");
        if (version != AttestedTlsBinding.Version)
        {
            throw new ProtocolFormatException("version", $"not {AttestedTlsBinding.Version}");
        }

        var tee = Text(root, "tee");
        if (!Tees.Contains(tee))
        {
            throw new ProtocolFormatException("tee", "not one of sample, snp, tdx");
        }

        var nonce = AttestedTlsBinding.ParseNonce(Text(root, "nonce"));
        if (!root.TryGetProperty("issued_at", out var issued) || issued.ValueKind != JsonValueKind.Number || !issued.TryGetInt64(out var issuedAt) || issuedAt < 0)
        {
            throw new ProtocolFormatException("issued_at", "missing or not a non-negative integer (Unix seconds)");
        }

        var spkiHex = Text(root, "tls_spki_sha256");
        if (spkiHex.Length != 64 || !spkiHex.All(char.IsAsciiHexDigitLower))
        {
            throw new ProtocolFormatException("tls_spki_sha256", "not 64 lower-case hex digits");
        }

        if (!root.TryGetProperty("cpu_evidence", out var cpu) || cpu.ValueKind != JsonValueKind.Object)
        {
            throw new ProtocolFormatException("cpu_evidence", "missing or not a JSON object");
        }

        var gpu = Text(root, "gpu_evidence", allowEmpty: true);
        return new AttestationDocument(tee, nonce, issuedAt, Convert.FromHexString(spkiHex), cpu.Clone(), gpu);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Tee} evidence for key {Convert.ToHexStringLower(TlsSpkiSha256)[..16]}…, issued {IssuedAt}");

    private static string Text(JsonElement root, string name, bool allowEmpty = false)
    {
        if (!root.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.String)
        {
            throw new ProtocolFormatException(name, "missing or not a string");
        }

        var s = v.GetString()!;
        return s.Length > 0 || allowEmpty ? s : throw new ProtocolFormatException(name, "empty");
    }
}
