using System.Text.Json;
using Veil.Protocol.Messages;

namespace Veil.Guest;

/// <summary>
/// Evidence of devices attached to the TEE (NVIDIA GPUs), sent as one entry of <c>additional_evidence</c> — the
/// KBS protocol's map tee → evidence — and chained into the CPU report through its report data.
/// </summary>
public interface IDeviceEvidenceProvider
{
    /// <summary>The key of this entry in <c>additional_evidence</c> (e.g. <c>nvidia</c>).</summary>
    string Tee { get; }

    /// <summary>Each device's evidence over the device nonce the protocol derives from the challenge and our key.</summary>
    JsonElement Evidence(string nonce, JsonElement teePubKey);

    /// <summary>Called once the broker released the key, i.e. accepted this evidence (e.g. to set the GPUs' ready state).</summary>
    void OnKeyReleased();
}

/// <summary>
/// Composite evidence as Trustee's guest-components build it: device evidence first, serialized once into the
/// <c>additional_evidence</c> string, then the CPU report with report data bound to that exact string.
/// </summary>
public static class CompositeEvidence
{
    public static TeeEvidence Collect(IEvidenceProvider primary, IReadOnlyList<IDeviceEvidenceProvider> devices, string nonce, JsonElement teePubKey)
    {
        var additional = "";
        if (devices.Count > 0)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<(string Tee, JsonElement Evidence)>();
            foreach (var d in devices)
            {
                if (!seen.Add(d.Tee))
                {
                    throw new AttesterException(d.Tee, "two device evidence providers for the same additional_evidence entry");
                }

                entries.Add((d.Tee, d.Evidence(nonce, teePubKey)));
            }

            additional = System.Text.Encoding.UTF8.GetString(KbsJson.Serialize(w =>
            {
                w.WriteStartObject();
                foreach (var (tee, evidence) in entries)
                {
                    w.WritePropertyName(tee);
                    evidence.WriteTo(w);
                }

                w.WriteEndObject();
            }));
        }

        return new TeeEvidence(primary.PrimaryEvidence(nonce, teePubKey, additional), additional);
    }
}
