using System.Runtime.InteropServices;
using System.Text.Json;
using Veil.Abi.Tee;
using Veil.Attestation;
using Veil.Attestation.Verification;

namespace Veil.Broker.Verification;

/// <summary>Why a TEE is refused before any evidence is looked at.</summary>
internal sealed record TeeRefusal(string Kind, string Detail);

/// <summary>
/// The broker's view of Veil.Attestation's <see cref="EvidenceVerifierFactory"/>: which <c>tee</c> a session may name
/// (a refusal that says why: unknown, not supported here, sample not allowed, with the broker setting that would
/// enable it) and the KBS JSON evidence handed to that TEE's verifier.
/// </summary>
internal sealed class EvidenceVerifiers(EvidenceVerifierFactory factory)
{
    /// <summary>The broker setting that makes a TEE available, named in its refusal.</summary>
    private static readonly Dictionary<string, string> Enable = new(StringComparer.Ordinal)
    {
        [TeeNames.Tdx] = "start the broker with --tdx-collateral-dir DIR (PCS bodies) or --pcs-url URL",
        [TeeNames.AzTdxVtpm] = "start the broker with --tdx-collateral-dir DIR (PCS bodies) or --pcs-url URL",
        [TeeNames.Nvidia] = "start the broker with --nvidia-collateral-dir DIR or --nvidia-rim-service URL",
    };

    public EvidenceVerifierFactory Factory => factory;

    public TeeRefusal? Check(string tee)
    {
        if (!TeeNames.Known.Contains(tee))
        {
            return new("UnknownTee", $"unknown TEE '{Problems.CallerText.Echo(tee)}' (known: {string.Join(", ", TeeNames.Known.Order(StringComparer.Ordinal))})");
        }

        if (tee == TeeNames.Sample && factory.Unavailable(tee) is not null)
        {
            return new("SampleNotAllowed", "the sample TEE is refused: it proves nothing; start the broker with --allow-sample for testing only");
        }

        if (!factory.Tees.Contains(tee) || TeeNames.IsDevice(tee))
        {
            var supported = factory.Tees.Where(t => !TeeNames.IsDevice(t) && factory.Unavailable(t) is null).Order(StringComparer.Ordinal);
            return new("TeeNotSupported", $"TEE not supported: '{tee}' has no verifier in this broker yet (supported: {string.Join(", ", supported)})");
        }

        return Unavailable(tee);
    }

    /// <summary>Device evidence (additional_evidence): the verifier, or why this broker cannot verify that device.</summary>
    public TeeRefusal? CheckDevice(string tee)
    {
        if (!TeeNames.Known.Contains(tee))
        {
            return new("TeeNotSupported", $"unknown TEE '{Problems.CallerText.Echo(tee)}' in additional evidence");
        }

        if (!TeeNames.IsDevice(tee) || !factory.Tees.Contains(tee))
        {
            return new("TeeNotSupported", $"TEE not supported: additional evidence for '{tee}' cannot be verified by this broker (supported: {TeeNames.Nvidia})");
        }

        return Unavailable(tee);
    }

    /// <summary>A verified TEE this broker's settings leave without what it needs, with the setting that enables it.</summary>
    private TeeRefusal? Unavailable(string tee) =>
        factory.Unavailable(tee) is { } why ? new("TeeNotSupported", $"TEE not supported: {why}; {Enable.GetValueOrDefault(tee, "see README.md, Run the key broker")}") : null;

    /// <summary>
    /// Every KBS evidence form is a JSON object; its own UTF-8 bytes go to the verifier without re-encoding the
    /// (10 KB to MB) evidence through a string.
    /// </summary>
    /// <exception cref="EvidenceFormatException">Not a JSON object, or the TEE's reader refuses it.</exception>
    public Task<VerificationResult> VerifyAsync(string tee, JsonElement evidence, ReadOnlyMemory<byte> expectedReportData, CancellationToken ct)
    {
        if (evidence.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceFormatException($"{tee} evidence", "expected a JSON object");
        }

        var input = new EvidenceInput(JsonMarshal.GetRawUtf8Value(evidence).ToArray()) { ExpectedReportData = expectedReportData };
        return factory.Create(tee).VerifyAsync(input, ct);
    }
}
