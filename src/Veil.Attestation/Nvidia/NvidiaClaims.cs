using Veil.Abi.Tee;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// Maps a device's report and certificate to Veil's stable claim names (<c>nvidia.*</c>, as Veil.Policy's
/// claim catalogue lists them). <c>nvidia.cc_mode</c> is true when the report is genuine: a GPU answers
/// GET_MEASUREMENTS with its attestation key only in confidential-computing mode (NVIDIA's "devtools" CC mode
/// also answers, and shows as measurement mismatches against the production RIMs).
/// </summary>
public static class NvidiaClaims
{
    /// <summary>What the RIM step found: whether the report is genuine, whether both RIMs were compared, and the mismatching indices.</summary>
    internal sealed record RimOutcome(bool Genuine, bool Compared, IReadOnlyList<int> Mismatched);

    internal static VerificationResult Result(SpdmMeasurementReport r, NvidiaDeviceCertificate? cert, List<VerificationFailure> failures, List<string> findings, RimOutcome? rim)
    {
        var o = r.OpaqueData;
        var c = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["nvidia.nonce"] = Hex.Lower(r.Request.Nonce.Span),
            ["nvidia.measurement_count"] = (long)r.Blocks.Count,
            ["nvidia.cc_mode"] = rim?.Genuine ?? false,
            ["nvidia.ppcie_mode"] = PpcieMode(o),
            ["nvidia.measurements_match"] = rim is { Genuine: true, Compared: true, Mismatched.Count: 0 }
                && !failures.Any(f => f.Check.StartsWith("rim.", StringComparison.Ordinal) || f.Check.StartsWith("measurement", StringComparison.Ordinal)),
            ["nvidia.mismatched_indices"] = (rim?.Mismatched ?? []).Select(i => i.ToString()).ToList(),
            ["nvidia.findings"] = findings.ToList(),
        };
        Add(c, "nvidia.driver_version", o.DriverVersion);
        Add(c, "nvidia.vbios_version", o.VbiosVersion);
        Add(c, "nvidia.project", o.Project);
        Add(c, "nvidia.project_sku", o.ProjectSku);
        Add(c, "nvidia.chip_sku", o.ChipSku);
        Add(c, "nvidia.chip_info", o.ChipInfo);
        if (o.Fwid is { } fwid)
        {
            c["nvidia.fwid"] = Hex.Lower(fwid.Span);
        }

        if (o.NvdecStatus is { } nvdec)
        {
            c["nvidia.nvdec0_enabled"] = nvdec == NvidiaOpaqueData.Enabled;
        }

        if (o.OpaqueDataVersion is { } version)
        {
            c["nvidia.opaque_data_version"] = (long)version;
        }

        if (cert is not null)
        {
            Add(c, "nvidia.arch", cert.Arch);
            Add(c, "nvidia.hwmodel", cert.HardwareModel);
            c["nvidia.device_kind"] = cert.Kind == NvidiaDeviceKind.Switch ? "switch" : "gpu";
            c["nvidia.device_id"] = cert.SerialHex;
            c["nvidia.ueid"] = cert.Ueid;
        }

        return new VerificationResult(TeeNames.Nvidia, c, failures);
    }

    /// <summary>
    /// Protected PCIe: the FEATURE_FLAG field says PPCIE (2) on opaque-data v1 reports; older reports only carry
    /// PROTECTED_PCIE_STATUS, which reads 0xAA when enabled.
    /// </summary>
    internal static bool PpcieMode(NvidiaOpaqueData o) =>
        o.FeatureFlag is { } flag ? flag == 2 : o.ProtectedPcieStatus == NvidiaOpaqueData.Enabled;

    private static void Add(Dictionary<string, object> c, string name, string? value)
    {
        if (value is not null)
        {
            c[name] = value;
        }
    }
}

/// <summary>
/// A set of devices verified together: each device's result, and one combined result whose claims are the
/// set-level ones (<c>nvidia.set.*</c>) plus, for one device, its claims as they are, for several, each
/// device's claims and failures under <c>gpu&lt;i&gt;.</c> / <c>switch&lt;i&gt;.</c>.
/// </summary>
public sealed record NvidiaSetResult(IReadOnlyList<VerificationResult> Devices, VerificationResult Combined)
{
    public static NvidiaSetResult From(IReadOnlyList<VerificationResult> devices)
    {
        var claims = new Dictionary<string, object>(StringComparer.Ordinal);
        var failures = new List<VerificationFailure>();
        int gpus = 0, switches = 0;
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var d in devices)
        {
            var isSwitch = d.Claims.TryGetValue("nvidia.device_kind", out var k) && (string)k == "switch";
            var prefix = devices.Count == 1 ? "" : isSwitch ? $"switch{switches}." : $"gpu{gpus}.";
            _ = isSwitch ? switches++ : gpus++;
            foreach (var (name, value) in d.Claims)
            {
                claims[prefix + name] = value;
            }

            failures.AddRange(d.Failures.Select(f => f with { Check = prefix + f.Check }));
            if (d.Claims.TryGetValue("nvidia.device_id", out var id) && !seen.TryAdd((string)id, prefix))
            {
                // The same device twice would inflate the count a policy sees; a set names each device once.
                failures.Add(new(prefix + "set.duplicate_device", "each device once", $"device {id} also at {seen[(string)id]}"));
            }
        }

        claims["nvidia.set.device_count"] = (long)devices.Count;
        claims["nvidia.set.gpu_count"] = (long)gpus;
        claims["nvidia.set.switch_count"] = (long)switches;
        claims["nvidia.set.cc_mode"] = devices.Count > 0 && devices.All(d => Flag(d, "nvidia.cc_mode"));
        claims["nvidia.set.ppcie_mode"] = devices.Count > 0 && devices.All(d => Flag(d, "nvidia.ppcie_mode"));
        claims["nvidia.set.measurements_match"] = devices.Count > 0 && devices.All(d => Flag(d, "nvidia.measurements_match"));
        return new NvidiaSetResult(devices, new VerificationResult(TeeNames.Nvidia, claims, failures));
    }

    private static bool Flag(VerificationResult d, string name) => d.Claims.TryGetValue(name, out var v) && v is true;
}
