using System.Runtime.InteropServices;
using System.Text.Json;
using Veil.Abi.Tee;
using Veil.Attestation.EventLog;
using Veil.Attestation.Nvidia;
using Veil.Attestation.Sample;
using Veil.Attestation.Snp;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;

namespace Veil.Attestation.Verification;

/// <summary>snp: a raw, hex or Trustee JSON report, with an optional certificate table, through <see cref="SnpVerifier"/>.</summary>
internal sealed class SnpContractVerifier(SnpVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Snp;

    public async Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, eventLog: true, deviceCertificates: true);
        var evidence = SnpEvidence.Parse(input.Evidence.Span);
        if (input.CertTable is { } table)
        {
            evidence = evidence.WithCertTable(table.Span);
        }

        var result = await verifier.VerifyAsync(evidence, input.ExpectedReportData, cancellationToken).ConfigureAwait(false);
        return InitDataCheck.Field(result, input.InitDataDigest, "snp.host_data", InitDataFields.SnpHostDataLength);
    }
}

/// <summary>tdx: a quote (binary, hex, base64) or Trustee's <c>{quote, cc_eventlog}</c>, through <see cref="TdxVerifier"/>.</summary>
internal sealed class TdxContractVerifier(TdxVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Tdx;

    public async Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, deviceCertificates: true);
        TdxQuote quote;
        ReadOnlyMemory<byte>? log = input.EventLog;
        if (TrusteeTdxJson.Looks(input.Evidence.Span))
        {
            var (q, l) = TrusteeTdxJson.Read(input.Evidence);
            if (l is not null && log is not null)
            {
                throw new EvidenceFormatException("tdx evidence.cc_eventlog", "the evidence carries an event log and another was given beside it");
            }

            quote = TdxQuote.Parse(q);
            // Not 'log ??= l': a null array converts to an empty (non-null) ReadOnlyMemory, which would replay as a log.
            if (l is not null)
            {
                log = l;
            }
        }
        else
        {
            quote = TdxQuoteInput.Parse(input.Evidence.Span);
        }

        var replay = log is { } bytes ? RtmrReplay.Parse(bytes.Span) : null;
        var result = await verifier.VerifyAsync(quote, input.ExpectedReportData, replay, cancellationToken).ConfigureAwait(false);
        return InitDataCheck.Field(result, input.InitDataDigest, "tdx.mr_config_id", InitDataFields.TdxMrConfigIdLength);
    }
}

/// <summary>az-snp-vtpm and az-tdx-vtpm: the attestation-agent JSON; init-data goes to PCR 8 inside the Azure verifiers.</summary>
internal sealed class AzureVtpmContractVerifier(string tee, Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>?, ReadOnlyMemory<byte>?, CancellationToken, Task<VerificationResult>> verify) : IEvidenceVerifier
{
    public string Tee => tee;

    public Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, eventLog: true, deviceCertificates: true);
        if (input.InitDataDigest is { Length: not 32 } d)
        {
            throw new EvidenceFormatException("init-data digest", $"{d.Length} bytes: PCR 8 of the SHA-256 bank binds only a sha256 init-data digest (32 bytes)");
        }

        return verify(input.Evidence, input.ExpectedReportData, input.InitDataDigest, cancellationToken);
    }
}

/// <summary>
/// nvidia: an SPDM report or an evidence list, through <see cref="NvidiaVerifier"/>. The result is the set's combined
/// verdict with each device's own result in <see cref="VerificationResult.Parts"/>.
/// </summary>
internal sealed class NvidiaContractVerifier(NvidiaVerifier verifier) : IEvidenceVerifier
{
    public string Tee => TeeNames.Nvidia;

    public async Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, eventLog: true);
        if (input.InitDataDigest is not null)
        {
            throw new EvidenceFormatException("init-data digest", "GPU evidence carries no init-data; bind it to the CPU evidence");
        }

        var evidence = NvidiaEvidence.Parse(input.Evidence.Span, input.DeviceCertificates);
        var set = await verifier.VerifyAsync(evidence, input.ExpectedReportData, cancellationToken).ConfigureAwait(false);
        return new VerificationResult(set.Combined.Tee, set.Combined.Claims, set.Combined.Failures, set.Devices);
    }
}

/// <summary>sample: its JSON; report data is always checked (an absent expectation is the empty one, which fails).</summary>
internal sealed class SampleContractVerifier : IEvidenceVerifier
{
    public string Tee => TeeNames.Sample;

    public Task<VerificationResult> VerifyAsync(EvidenceInput input, CancellationToken cancellationToken = default)
    {
        Attachments.Refuse(input, Tee, certTable: true, eventLog: true, deviceCertificates: true);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(input.Evidence);
        }
        catch (JsonException)
        {
            throw new EvidenceFormatException("sample evidence", "not JSON");
        }

        using (doc)
        {
            // Init-data is taken as given for sample (it has nothing to bind it to); only tests and the quickstart allow it.
            return Task.FromResult(SampleVerifier.Verify(doc.RootElement, (input.ExpectedReportData ?? ReadOnlyMemory<byte>.Empty).Span));
        }
    }
}

/// <summary>An attachment the TEE does not use is refused, not ignored: the caller meant it to count.</summary>
internal static class Attachments
{
    public static void Refuse(EvidenceInput input, string tee, bool certTable = false, bool eventLog = false, bool deviceCertificates = false)
    {
        if (certTable && input.CertTable is not null)
        {
            throw new EvidenceFormatException("cert table", $"a certificate table is SNP's; {tee} evidence does not use one");
        }

        if (eventLog && input.EventLog is not null)
        {
            throw new EvidenceFormatException("event log", $"a CC event log is TDX's; {tee} evidence does not use one");
        }

        if (deviceCertificates && input.DeviceCertificates is not null)
        {
            throw new EvidenceFormatException("device certificates", $"a device certificate chain is NVIDIA's; {tee} evidence does not use one");
        }
    }
}

/// <summary>SNP HOST_DATA / TDX MRCONFIGID against an init-data digest, fitted as the launcher fits it.</summary>
internal static class InitDataCheck
{
    public static VerificationResult Field(VerificationResult result, ReadOnlyMemory<byte>? digest, string claim, int length)
    {
        if (digest is not { } d)
        {
            return result;
        }

        var expected = Convert.ToHexStringLower(InitDataFields.Fit(d.Span, length));
        var actual = result.Claims.TryGetValue(claim, out var v) ? v as string : null;
        if (string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
        {
            return result;
        }

        return new VerificationResult(result.Tee, result.Claims, [.. result.Failures, new VerificationFailure("init_data.binding", $"{claim} {expected}", actual ?? "absent")], result.Parts);
    }
}

/// <summary>Trustee's TDX evidence JSON: <c>{"quote": base64, "cc_eventlog": base64?}</c>, read without copying the text.</summary>
internal static class TrusteeTdxJson
{
    public static bool Looks(ReadOnlySpan<byte> evidence)
    {
        var t = evidence.TrimStart(" \t\r\n"u8);
        return t.Length > 0 && t[0] == (byte)'{';
    }

    public static (byte[] Quote, byte[]? EventLog) Read(ReadOnlyMemory<byte> evidence)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(evidence);
        }
        catch (JsonException)
        {
            throw new EvidenceFormatException("tdx evidence", "not valid JSON");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new EvidenceFormatException("tdx evidence", "expected a JSON object {quote, cc_eventlog}");
            }

            var quote = Base64Field(doc.RootElement, "quote") ?? throw new EvidenceFormatException("tdx evidence.quote", "missing");
            return (quote, Base64Field(doc.RootElement, "cc_eventlog"));
        }
    }

    private static byte[]? Base64Field(JsonElement evidence, string name)
    {
        if (!evidence.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new EvidenceFormatException($"tdx evidence.{name}", "not a string");
        }

        // The value's UTF-8 bytes as they are in the document (base64 needs no JSON escape), decoded in one pass.
        var raw = JsonMarshal.GetRawUtf8Value(value);
        var decoded = raw.IndexOf((byte)'\\') < 0
            ? EvidenceText.DecodeBase64OrNull(raw[1..^1])
            : EvidenceText.DecodeBase64OrNull(System.Text.Encoding.UTF8.GetBytes(value.GetString()!));
        return decoded ?? throw new EvidenceFormatException($"tdx evidence.{name}", "not base64");
    }
}
