namespace Veil.Attestation.Nvidia;

/// <summary>
/// An offline collateral directory, laid out as the service fetcher's cache so that the cache can be copied to
/// an air-gapped site as it is:
/// <code>
/// rims/{RIM id}.xml         (e.g. rims/NV_GPU_DRIVER_GH100_550.90.07.xml; .swidtag is read too)
/// rims/{RIM id}.corim       (a CoRIM; .cbor is read too)
/// ocsp/*.der                (DER OCSP responses; matched to certificates by their CertID)
/// </code>
/// RIM files directly in the directory (<c>{RIM id}.xml|.swidtag|.corim|.cbor</c>) are read too; the content,
/// not the extension, decides how a file is parsed.
/// </summary>
public sealed class NvidiaDirectoryCollateral(string root) : INvidiaCollateralSource
{
    private const long MaxFileBytes = 4 * 1024 * 1024;

    public string Root { get; } = root;

    public static string RimPath(string root, string id, Rim.RimFormat format = Rim.RimFormat.Swid) =>
        Path.Combine(root, "rims", SafeName(id) + (format == Rim.RimFormat.Corim ? ".corim" : ".xml"));

    public static string OcspDirectory(string root) => Path.Combine(root, "ocsp");

    public ValueTask<IReadOnlyList<NvidiaRimFile>> GetRimsAsync(NvidiaRimRequest request, CancellationToken cancellationToken)
    {
        var name = SafeName(request.Id);
        var found = new List<NvidiaRimFile>();
        foreach (var dir in new[] { Path.Combine(Root, "rims"), Root })
        {
            foreach (var ext in new[] { ".xml", ".swidtag", ".corim", ".cbor" })
            {
                var path = Path.Combine(dir, name + ext);
                if (File.Exists(path))
                {
                    found.Add(new NvidiaRimFile(path, Read(path)));
                }
            }
        }

        return ValueTask.FromResult<IReadOnlyList<NvidiaRimFile>>(found);
    }

    public ValueTask<byte[]?> GetOcspAsync(NvidiaOcspRequest request, CancellationToken cancellationToken)
    {
        var dir = OcspDirectory(Root);
        if (Directory.Exists(dir))
        {
            foreach (var path in Directory.EnumerateFiles(dir, "*.der").Order(StringComparer.Ordinal))
            {
                var bytes = Read(path);
                if (Ocsp.OcspResponse.Names(bytes, request.Certificate, request.Issuer))
                {
                    return ValueTask.FromResult<byte[]?>(bytes);
                }
            }
        }

        return ValueTask.FromResult<byte[]?>(null);
    }

    /// <summary>RIM ids come from report fields; keep them to a file name of letters, digits, '.', '_' and '-'.</summary>
    internal static string SafeName(string id)
    {
        if (id.Length is 0 or > 200 || id.StartsWith('.') || id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')))
        {
            throw new EvidenceFormatException("rim.id", $"'{id}' is not a RIM id");
        }

        return id;
    }

    private static byte[] Read(string path)
    {
        var info = new FileInfo(path);
        return info.Length <= MaxFileBytes
            ? File.ReadAllBytes(path)
            : throw new EvidenceFormatException(path, $"oversized collateral file: {info.Length} bytes");
    }
}
