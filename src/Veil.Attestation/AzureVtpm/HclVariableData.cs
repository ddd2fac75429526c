using System.Text.Json;
using Veil.Attestation.Tdx;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// The HCL report's variable data, the paravisor's runtime claims JSON:
/// <c>{"keys":[{"kid":"HCLAkPub",…JWK},{"kid":"HCLEkPub",…}],"vm-configuration":{…},"user-data":"&lt;hex&gt;"}</c>.
/// Only the AK is required; the VM configuration flags and user data become claims when present.
/// </summary>
public sealed class HclVariableData : IDisposable
{
    public const string AkKeyId = "HCLAkPub";

    private HclVariableData(AttestationKey ak, byte[]? userData, IReadOnlyDictionary<string, object> vmConfiguration)
    {
        Ak = ak;
        UserData = userData;
        VmConfiguration = vmConfiguration;
    }

    public AttestationKey Ak { get; }

    /// <summary>The <c>user-data</c> bytes (64 on Azure; zeros unless the guest wrote NV index 0x01400002), or null.</summary>
    public byte[]? UserData { get; }

    /// <summary><c>vm-configuration</c> booleans and strings, keyed by their JSON names.</summary>
    public IReadOnlyDictionary<string, object> VmConfiguration { get; }

    /// <exception cref="EvidenceFormatException">Not JSON, or no usable HCLAkPub key (field named).</exception>
    public static HclVariableData Parse(ReadOnlyMemory<byte> json)
    {
        const string p = "hcl_report.variable_data";
        using var doc = JsonFields.Parse(json, p);
        var root = JsonFields.Object(doc.RootElement, p);
        var keys = JsonFields.Array(root, "keys", p);
        JsonElement? akJwk = null;
        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i].ValueKind == JsonValueKind.Object && JsonFields.Optional(keys[i], "kid") is { ValueKind: JsonValueKind.String } kid && kid.ValueEquals(AkKeyId))
            {
                akJwk = akJwk is null ? keys[i] : throw new EvidenceFormatException($"{p}.keys[{i}]", $"a second '{AkKeyId}' key");
            }
        }

        if (akJwk is not { } jwk)
        {
            throw new EvidenceFormatException($"{p}.keys", $"no key with kid '{AkKeyId}'");
        }

        byte[]? userData = null;
        if (JsonFields.Optional(root, "user-data") is { } ud)
        {
            userData = ud.ValueKind == JsonValueKind.String
                ? Hex.Parse(JsonFields.Text(ud, $"{p}.user-data"), $"{p}.user-data")
                : throw new EvidenceFormatException($"{p}.user-data", "expected hex text");
        }

        var config = new Dictionary<string, object>(StringComparer.Ordinal);
        if (JsonFields.Optional(root, "vm-configuration") is { ValueKind: JsonValueKind.Object } vm)
        {
            foreach (var f in vm.EnumerateObject())
            {
                // Only the flags Veil documents become claims: free-form keys must not turn into claim names.
                if (Array.IndexOf(KnownConfiguration, f.Name) >= 0 && f.Value.ValueKind is JsonValueKind.True or JsonValueKind.False or JsonValueKind.String)
                {
                    config[f.Name] = f.Value.ValueKind == JsonValueKind.String ? JsonFields.Text(f.Value, $"{p}.vm-configuration.{f.Name}") : f.Value.GetBoolean();
                }
            }
        }

        return new HclVariableData(AttestationKey.FromJwk(jwk, $"{p}.keys.{AkKeyId}"), userData, config);
    }

    /// <summary>The <c>vm-configuration</c> keys Azure writes (az-cvm-vtpm samples, Trustee's vectors).</summary>
    public static readonly string[] KnownConfiguration = ["console-enabled", "secure-boot", "tpm-enabled", "tpm-persisted", "vmUniqueId", "root-cert-thumbprint"];

    public void Dispose() => Ak.Dispose();
}
