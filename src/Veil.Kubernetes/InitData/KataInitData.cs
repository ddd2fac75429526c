using System.IO.Compression;
using System.Text;

namespace Veil.Kubernetes.InitData;

/// <summary>
/// The Confidential Containers init-data a Kata CoCo pod carries in <see cref="Annotation"/>: a TOML document whose
/// <c>[data]</c> holds the guest components' configuration (<c>aa.toml</c>, <c>cdh.toml</c>), gzip'd and base64'd.
/// Kata hands it to the guest and binds its digest into the launch (SNP HOST_DATA, TDX MRCONFIGID), so the broker
/// can tell which configuration the guest runs; the attestation agent and confidential-data-hub read the KBS URL
/// from it. This writes the document that points both at Veil's broker, as CoCo's own guides lay it out.
/// </summary>
public static class KataInitData
{
    public const string Annotation = "io.katacontainers.config.hypervisor.cc_init_data";

    /// <summary>A decoded document larger than this is refused (a small gzip can expand without bound).</summary>
    public const int MaxDocumentBytes = 1 << 20;

    private static readonly string[] Algorithms = ["sha256", "sha384", "sha512"];

    /// <summary>
    /// The init-data TOML pointing the attestation agent and CDH at <paramref name="broker"/>. Written from a
    /// template rather than with Tomlyn's serializer: the guest's launch measurement binds these exact bytes, so
    /// operators pin their digest, and a serializer's layout (quoting, blank lines, key order) is no promise across
    /// versions; the test suite reads the result back with Tomlyn (Veil.Measure's init-data reader).
    /// </summary>
    /// <param name="brokerCaPem">PEM of the CA the broker's certificate chains to (an https broker with a private CA).</param>
    /// <param name="algorithm">Digest algorithm the guest uses for the binding: sha256 fills SNP HOST_DATA exactly, sha384 TDX MRCONFIGID.</param>
    public static string Document(Uri broker, string? brokerCaPem, string algorithm)
    {
        ArgumentNullException.ThrowIfNull(broker);
        if (!Algorithms.Contains(algorithm, StringComparer.Ordinal))
        {
            throw new WebhookConfigurationException($"--alg: '{algorithm}' is not one of {string.Join(", ", Algorithms)}");
        }

        var url = broker.GetLeftPart(UriPartial.Path).TrimEnd('/');
        if (url.Contains('\'', StringComparison.Ordinal))
        {
            throw new WebhookConfigurationException($"--broker-url: '{url}' cannot be written as a TOML literal string");
        }

        var cert = "";
        if (brokerCaPem is not null)
        {
            var pem = brokerCaPem.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
            if (!pem.StartsWith("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal) || pem.Contains("'''", StringComparison.Ordinal) || pem.Contains("\"\"\"", StringComparison.Ordinal))
            {
                throw new WebhookConfigurationException("--broker-ca: expected PEM certificates");
            }

            cert = pem;
        }

        var aaCert = cert.Length == 0 ? "" : $"cert = \"\"\"\n{cert}\n\"\"\"\n";
        var cdhCert = cert.Length == 0 ? "" : $"kbs_cert = \"\"\"\n{cert}\n\"\"\"\n";
        return $"""
            algorithm = "{algorithm}"
            version = "0.1.0"

            [data]
            "aa.toml" = '''
            [token_configs]
            [token_configs.coco_as]
            url = '{url}'

            [token_configs.kbs]
            url = '{url}'
            {aaCert}'''

            "cdh.toml" = '''
            socket = 'unix:///run/confidential-containers/cdh.sock'
            credentials = []

            [kbc]
            name = 'cc_kbc'
            url = '{url}'
            {cdhCert}'''

            """;
    }

    /// <summary>The annotation's value: base64 of the gzip'd document, exactly these bytes (the digest is over them).</summary>
    public static string Encode(byte[] document)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(document);
        }

        return Convert.ToBase64String(buffer.ToArray());
    }

    /// <summary>The document an annotation value carries; <see cref="InvalidDataException"/> names what is wrong.</summary>
    public static byte[] Decode(string annotation)
    {
        byte[] compressed;
        try
        {
            compressed = Convert.FromBase64String(annotation.Trim());
        }
        catch (FormatException)
        {
            throw new InvalidDataException("not base64");
        }

        var document = Inflate(compressed);
        if (document.Length == 0)
        {
            throw new InvalidDataException("empty init-data");
        }

        try
        {
            _ = new UTF8Encoding(false, true).GetString(document);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException("the init-data is not UTF-8 text");
        }

        return document;
    }

    private static byte[] Inflate(byte[] compressed)
    {
        using var output = new MemoryStream();
        var oversized = false;
        try
        {
            using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
            var chunk = new byte[81920];
            int n;
            while (!oversized && (n = gzip.Read(chunk)) > 0)
            {
                oversized = output.Length + n > MaxDocumentBytes;
                output.Write(chunk, 0, n);
            }
        }
        catch (InvalidDataException)
        {
            throw new InvalidDataException("not gzip data");
        }

        if (oversized)
        {
            throw new InvalidDataException($"expands to more than {MaxDocumentBytes} bytes");
        }

        // GZipStream (zlib) checks a complete trailer's CRC-32 and ISIZE itself, but accepts a member whose trailer is
        // missing or cut, so a cut-off value could pass here and fail only when Kata decodes it: the last four bytes
        // must be the ISIZE (length mod 2^32) of what came out.
        const int headerAndTrailer = 18;
        if (compressed.Length < headerAndTrailer
            || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(compressed.Length - 4)) != (uint)output.Length)
        {
            throw new InvalidDataException("the gzip data is cut short (its trailer does not match)");
        }

        return output.ToArray();
    }
}
