using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Veil.Attestation;
using Veil.Abi.Tee;
using Veil.Attestation.Verification;
using Veil.Broker.Appraisal;
using Veil.Policy.Appraisal;
using Veil.Policy.Model;
using Veil.Protocol.Messages;

namespace Veil.Broker.Verification;

/// <summary>One verified device: its EAR submodule name (gpu0, switch1, …), its claims and its annotated evidence.</summary>
internal sealed record VerifiedDevice(string Name, SubmoduleEvidence Evidence, JsonObject Annotated);

/// <summary>The devices of <c>additional_evidence</c>, or why the attestation is refused because of them.</summary>
internal sealed record DeviceOutcome(IReadOnlyList<VerifiedDevice> Devices, TeeRefusal? Refusal);

/// <summary>
/// <c>tee-evidence.additional_evidence</c>: a JSON map TEE name → evidence (the KBS protocol's "additional
/// devices"), already bound into the CPU report data. Each NVIDIA GPU and NVSwitch must carry the device nonce of
/// this session and verify; any entry the broker cannot verify refuses the attestation rather than releasing with
/// an unverified device attached.
/// </summary>
internal sealed class DeviceEvidence(EvidenceVerifiers verifiers)
{
    public async Task<DeviceOutcome> VerifyAsync(string additional, RuntimeData runtimeData, IReportDataBindingService binding, CancellationToken ct)
    {
        if (additional.Length == 0)
        {
            return new([], null);
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(additional);
        }
        catch (JsonException)
        {
            return Refuse("InvalidAttestation", "tee-evidence.additional_evidence: not valid JSON");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Refuse("InvalidAttestation", "tee-evidence.additional_evidence: expected a JSON map tee → evidence");
            }

            var devices = new List<VerifiedDevice>();
            foreach (var entry in doc.RootElement.EnumerateObject())
            {
                if (verifiers.CheckDevice(entry.Name) is { } refusal)
                {
                    return new([], refusal);
                }

                var nonce = binding.ExpectedDeviceNonce(entry.Name, runtimeData);
                VerificationResult set;
                try
                {
                    var input = new EvidenceInput(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(entry.Value).ToArray()) { ExpectedReportData = nonce };
                    set = await verifiers.Factory.Create(entry.Name).VerifyAsync(input, ct).ConfigureAwait(false);
                }
                catch (EvidenceFormatException e)
                {
                    return Refuse("EvidenceInvalid", $"nvidia evidence is malformed: {e.Message}");
                }

                if (set.Parts.Count == 0)
                {
                    return Refuse("EvidenceInvalid", "nvidia evidence lists no device");
                }

                if (!set.Verified)
                {
                    return Refuse("AttestationFailed", "nvidia evidence did not verify: " + string.Join("; ", set.Failures));
                }

                int gpus = 0, switches = 0;
                foreach (var d in set.Parts)
                {
                    var isSwitch = d.Claims.TryGetValue("nvidia.device_kind", out var k) && k is "switch";
                    var name = isSwitch ? $"switch{switches++}" : $"gpu{gpus++}";
                    var annotated = new JsonObject
                    {
                        [TeeNames.Nvidia] = ClaimsJson.From(d),
                        ["veil.tee"] = TeeNames.Nvidia,
                        ["report_data"] = Convert.ToHexStringLower(nonce.Span),
                    };
                    devices.Add(new VerifiedDevice(name, new SubmoduleEvidence(isSwitch ? SubmoduleKind.Switch : SubmoduleKind.Gpu, TeeNames.Nvidia, d.Claims), annotated));
                }
            }

            return new(devices, null);
        }
    }

    private static DeviceOutcome Refuse(string kind, string detail) => new([], new TeeRefusal(kind, detail));
}
