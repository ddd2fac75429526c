using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Veil.Attestation.Collateral;
using Veil.Attestation.Nvidia.Rim;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// Verifies NVIDIA GPU and NVSwitch attestation reports offline, step by step as nvtrust's local verifier
/// (cc_admin.py / config.py check_status) does: device chain to the pinned NVIDIA Device Identity CA, ECDSA P-384
/// signature over request ‖ response, the caller's nonce against the request nonce, FWID against the leaf's
/// DICE TcbInfo, OCSP where supplied, and the driver and firmware RIMs (version, signing chain to the pinned
/// RIM root, XML signature, measurements). Every failed check is named; claims come with the result either way.
/// </summary>
public sealed class NvidiaVerifier
{
    private readonly INvidiaCollateralSource collateral;
    private readonly TimeProvider time;
    private readonly NvidiaChain deviceChains = new();
    private readonly RimCheck rims;
    private readonly OcspCheck ocsp;
    private readonly ConcurrentDictionary<string, ConcurrentBag<ECDsa>> leafKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NvidiaDeviceCertificate> deviceCertificates = new(StringComparer.Ordinal);

    public NvidiaVerifier(INvidiaCollateralSource collateral, TimeProvider time)
        : this(collateral, time, null)
    {
    }

    /// <summary><paramref name="rimRoot"/> replaces the pinned NVIDIA RIM root: tests only, which cannot sign as NVIDIA.</summary>
    internal NvidiaVerifier(INvidiaCollateralSource collateral, TimeProvider time, X509Certificate2? rimRoot)
    {
        this.collateral = collateral;
        this.time = time;
        ocsp = new OcspCheck(collateral);
        rims = new RimCheck(collateral, new NvidiaChain(), ocsp, rimRoot);
    }

    /// <summary>Parses (see <see cref="NvidiaEvidence.Parse"/>) and verifies every device as one set.</summary>
    /// <exception cref="EvidenceFormatException">The evidence cannot be parsed.</exception>
    public Task<NvidiaSetResult> VerifyAsync(ReadOnlyMemory<byte> evidence, IReadOnlyList<X509Certificate2>? chain, ReadOnlyMemory<byte>? expectedNonce, CancellationToken cancellationToken = default) =>
        VerifyAsync(NvidiaEvidence.Parse(evidence.Span, chain), expectedNonce, cancellationToken);

    public async Task<NvidiaSetResult> VerifyAsync(NvidiaEvidence evidence, ReadOnlyMemory<byte>? expectedNonce, CancellationToken cancellationToken = default)
    {
        var results = new List<VerificationResult>();
        foreach (var device in evidence.Devices)
        {
            results.Add(await VerifyDeviceAsync(device, expectedNonce, cancellationToken).ConfigureAwait(false));
        }

        return NvidiaSetResult.From(results);
    }

    /// <summary>Verifies one device. <paramref name="expectedNonce"/> (32 bytes) is the caller's challenge.</summary>
    public async Task<VerificationResult> VerifyDeviceAsync(NvidiaDeviceEvidence device, ReadOnlyMemory<byte>? expectedNonce, CancellationToken cancellationToken = default)
    {
        if (expectedNonce is { Length: not SpdmMeasurementReport.NonceLength } bad)
        {
            throw new ArgumentException($"expected nonce must be 32 bytes, got {bad.Length}", nameof(expectedNonce));
        }

        var now = time.GetUtcNow();
        var report = device.Report;
        var failures = new List<VerificationFailure>();
        var findings = new List<string>();
        if (report.TrailingLength > 0)
        {
            findings.Add($"report: {report.TrailingLength} unsigned bytes after the signature, ignored");
        }

        if (device.Certificates.Count == 0)
        {
            failures.Add(new("device_chain", "the device certificate chain (evidence certificate or --cert-chain)", "none supplied"));
            return NvidiaClaims.Result(report, null, failures, findings, null);
        }

        // What the chain says about the device is computed once per chain; a fleet has few devices.
        var chainKey = NvidiaChain.Key(device.Certificates);
        NvidiaDeviceCertificate cert;
        try
        {
            if (!deviceCertificates.TryGetValue(chainKey, out cert!))
            {
                cert = NvidiaDeviceCertificate.From(device.Certificates);
                if (deviceCertificates.Count > 4096)
                {
                    deviceCertificates.Clear();
                }

                deviceCertificates.TryAdd(chainKey, cert);
            }
        }
        catch (EvidenceFormatException e)
        {
            failures.Add(new(e.Field, "a well-formed device certificate", e.Reason));
            return NvidiaClaims.Result(report, null, failures, findings, null);
        }

        var chainOk = deviceChains.Verify(device.Certificates, NvidiaRoots.DeviceIdentityCa, now, "device_chain", "device certificate", failures, chainKey);
        if (cert.Arch is null)
        {
            failures.Add(new("device.arch", "a GH100, GB100 or LS_10 device certificate", NvidiaChain.Name(cert.Leaf)));
        }
        else if (device.Arch is { } claimed && !string.Equals(claimed, cert.Arch, StringComparison.OrdinalIgnoreCase))
        {
            failures.Add(new("evidence.arch", cert.Arch, claimed));
        }

        var signatureOk = VerifySignature(cert.Leaf, chainKey, report);
        if (!signatureOk)
        {
            failures.Add(new("report.signature", "valid ECDSA P-384 signature by the device leaf certificate", "invalid"));
        }

        var requestNonce = report.Request.Nonce.Span;
        if (expectedNonce is { } expected)
        {
            if (!expected.Span.SequenceEqual(requestNonce))
            {
                failures.Add(new("report.nonce", Hex.Lower(expected.Span), Hex.Lower(requestNonce)));
            }
        }
        else
        {
            findings.Add("report.nonce: no expected nonce given, freshness not checked");
        }

        if (device.Nonce is { } listed && !listed.Span.SequenceEqual(requestNonce))
        {
            failures.Add(new("evidence.nonce", Hex.Lower(requestNonce), Hex.Lower(listed.Span)));
        }

        if (report.OpaqueData.Fwid is { } fwid)
        {
            if (cert.Fwid is not { } certFwid || !certFwid.Span.SequenceEqual(fwid.Span))
            {
                failures.Add(new("report.fwid", cert.Fwid is { } c ? Hex.Lower(c.Span) + " (leaf certificate TcbInfo)" : "a FWID in the leaf certificate", Hex.Lower(fwid.Span)));
            }
        }

        if (chainOk)
        {
            var full = NvidiaChain.Complete(device.Certificates, NvidiaRoots.DeviceIdentityCa);
            // The leaf is made fresh by the device on each boot and the root is pinned: NVIDIA asks OCSP about the rest.
            for (var i = 1; i < full.Count - 1; i++)
            {
                await ocsp.RunAsync(full[i], full[i + 1], $"device_chain[{i}]", now, failures, findings, cancellationToken).ConfigureAwait(false);
            }
        }

        var mismatched = await CheckRimsAsync(report, cert, now, failures, findings, cancellationToken).ConfigureAwait(false);
        var genuine = chainOk && signatureOk;
        return NvidiaClaims.Result(report, cert, failures, findings, new NvidiaClaims.RimOutcome(genuine, mismatched.Compared, mismatched.Indices));
    }

    private async Task<(bool Compared, List<int> Indices)> CheckRimsAsync(
        SpdmMeasurementReport report, NvidiaDeviceCertificate cert, DateTimeOffset now, List<VerificationFailure> failures, List<string> findings, CancellationToken cancellationToken)
    {
        var o = report.OpaqueData;
        var isSwitch = cert.Kind == NvidiaDeviceKind.Switch;
        var found = new List<(string, RimDocument)>();
        var complete = true;
        if (!isSwitch)
        {
            var driver = o.DriverVersion;
            if (driver is null)
            {
                failures.Add(new("report.driver_version", "a DRIVER_VERSION opaque field", "absent"));
                complete = false;
            }
            else
            {
                var id = cert.Arch == "BLACKWELL" ? $"NV_GPU_CC_DRIVER_{o.ChipInfo ?? "GB100"}_{driver}" : $"NV_GPU_DRIVER_GH100_{driver}";
                var rim = await rims.RunAsync(new NvidiaRimRequest(RimKind.Driver, id, driver), "rim.driver", now, failures, findings, cancellationToken).ConfigureAwait(false);
                complete &= rim is not null;
                if (rim is not null)
                {
                    found.Add(("driver", rim));
                }
            }
        }

        var firmware = o.VbiosVersion;
        var name = isSwitch ? "rim.bios" : "rim.vbios";
        if (firmware is null)
        {
            failures.Add(new("report.vbios_version", "a VBIOS_VERSION opaque field", "absent"));
            complete = false;
        }
        else
        {
            var id = $"{(isSwitch ? "NV_SWITCH_BIOS" : "NV_GPU_VBIOS")}_{o.Project}_{o.ProjectSku}_{o.ChipSku}_{firmware.Replace(".", "", StringComparison.Ordinal)}";
            var rim = await rims.RunAsync(new NvidiaRimRequest(RimKind.Firmware, id.ToUpperInvariant(), firmware), name, now, failures, findings, cancellationToken).ConfigureAwait(false);
            complete &= rim is not null;
            if (rim is not null)
            {
                found.Add((isSwitch ? "bios" : "vbios", rim));
            }
        }

        var mismatched = found.Count > 0 ? MeasurementComparison.Compare(report, found, failures) : [];
        return (complete, mismatched);
    }

    /// <summary>
    /// Verifies the report signature with the leaf's key. Keys are imported once per leaf and pooled: .NET does
    /// not promise that one ECDsa instance is safe for concurrent use, and importing costs as much as verifying.
    /// </summary>
    private bool VerifySignature(X509Certificate2 leaf, string chainKey, SpdmMeasurementReport report)
    {
        if (leafKeys.Count > 4096)
        {
            leafKeys.Clear();
        }

        var pool = leafKeys.GetOrAdd(chainKey, _ => []);
        if (!pool.TryTake(out var ec))
        {
            try
            {
                ec = leaf.GetECDsaPublicKey();
            }
            catch (CryptographicException)
            {
                return false;
            }

            if (ec is null || ec.KeySize != 384)
            {
                ec?.Dispose();
                return false;
            }
        }

        try
        {
            return ec.VerifyData(report.SignedBytes, report.Signature.Span, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        finally
        {
            pool.Add(ec);
        }
    }
}
