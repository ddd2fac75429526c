using System.Security.Cryptography.X509Certificates;

namespace Veil.Attestation.Nvidia;

/// <summary>
/// A RIM the verifier wants: its NVIDIA id (as the RIM service names it) and which component it covers.
/// Ids follow nvtrust cc_admin_utils.get_driver_rim_file_id / get_vbios_rim_file_id:
/// <c>NV_GPU_DRIVER_GH100_550.90.07</c>, <c>NV_GPU_CC_DRIVER_GB100_575.32</c>,
/// <c>NV_GPU_VBIOS_1010_0200_882_96009F0001</c>, <c>NV_SWITCH_BIOS_5612_0002_890_9610550001</c>.
/// </summary>
public sealed record NvidiaRimRequest(Rim.RimKind Kind, string Id, string Version);

/// <summary>An OCSP response wanted for one chain certificate (with its issuer, which the CertID names).</summary>
public sealed record NvidiaOcspRequest(X509Certificate2 Certificate, X509Certificate2 Issuer);

/// <summary>Where RIMs and OCSP responses come from: files, an offline directory, NVIDIA's services with a cache.</summary>
public interface INvidiaCollateralSource
{
    /// <summary>Candidate RIM documents (raw bytes) for the request; the verifier picks the one that matches.</summary>
    ValueTask<IReadOnlyList<NvidiaRimFile>> GetRimsAsync(NvidiaRimRequest request, CancellationToken cancellationToken);

    /// <summary>A DER OCSP response for the certificate, or null when none is at hand.</summary>
    ValueTask<byte[]?> GetOcspAsync(NvidiaOcspRequest request, CancellationToken cancellationToken);
}

/// <summary>RIM bytes and where they came from (file path or URL), for error messages.</summary>
public sealed record NvidiaRimFile(string Origin, ReadOnlyMemory<byte> Bytes);

/// <summary>Ready-made sources and their combination.</summary>
public static class NvidiaCollateralSources
{
    /// <summary>No RIMs and no OCSP: only the evidence itself is verified; measurements stay unchecked.</summary>
    public static INvidiaCollateralSource None() => new FilesSource([], []);

    /// <summary>
    /// RIM files given explicitly (<c>--rim</c>); each is offered for every request of its kind (the verifier
    /// keeps the one whose version matches the report). OCSP responses given explicitly are matched to
    /// certificates by the verifier through their CertID.
    /// </summary>
    public static INvidiaCollateralSource Files(IReadOnlyList<NvidiaRimFile> rims, IReadOnlyList<byte[]> ocspResponses) =>
        new FilesSource(rims, ocspResponses);

    /// <summary>Asks each source in turn; RIM candidates from all sources are offered, the first OCSP response wins.</summary>
    public static INvidiaCollateralSource Combine(params INvidiaCollateralSource[] sources) => new CombinedSource(sources);

    private sealed class FilesSource(IReadOnlyList<NvidiaRimFile> rims, IReadOnlyList<byte[]> ocsp) : INvidiaCollateralSource
    {
        public ValueTask<IReadOnlyList<NvidiaRimFile>> GetRimsAsync(NvidiaRimRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(rims);

        public ValueTask<byte[]?> GetOcspAsync(NvidiaOcspRequest request, CancellationToken cancellationToken)
        {
            foreach (var response in ocsp)
            {
                if (Ocsp.OcspResponse.Names(response, request.Certificate, request.Issuer))
                {
                    return ValueTask.FromResult<byte[]?>(response);
                }
            }

            return ValueTask.FromResult<byte[]?>(null);
        }
    }

    private sealed class CombinedSource(IReadOnlyList<INvidiaCollateralSource> sources) : INvidiaCollateralSource
    {
        public async ValueTask<IReadOnlyList<NvidiaRimFile>> GetRimsAsync(NvidiaRimRequest request, CancellationToken cancellationToken)
        {
            var all = new List<NvidiaRimFile>();
            foreach (var s in sources)
            {
                all.AddRange(await s.GetRimsAsync(request, cancellationToken).ConfigureAwait(false));
            }

            return all;
        }

        public async ValueTask<byte[]?> GetOcspAsync(NvidiaOcspRequest request, CancellationToken cancellationToken)
        {
            foreach (var s in sources)
            {
                if (await s.GetOcspAsync(request, cancellationToken).ConfigureAwait(false) is { } r)
                {
                    return r;
                }
            }

            return null;
        }
    }
}
