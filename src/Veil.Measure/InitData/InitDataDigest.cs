using System.Security.Cryptography;
using System.Text;
using Veil.Abi.Tee;

namespace Veil.Measure.InitData;

/// <summary>The digest of a Confidential Containers init-data document and the values it becomes in hardware.</summary>
/// <param name="Algorithm">sha256, sha384 or sha512.</param>
/// <param name="Digest">The digest over the raw TOML bytes.</param>
/// <param name="SnpHostData">The 32-byte SNP HOST_DATA: the digest truncated or zero-padded to 32 bytes.</param>
/// <param name="TdxMrConfigId">The 48-byte TDX MRCONFIGID: the digest truncated or zero-padded to 48 bytes.</param>
public sealed record InitDataMeasurement(string Algorithm, byte[] Digest, byte[] SnpHostData, byte[] TdxMrConfigId);

/// <summary>
/// Init-data (kata-containers/kata-containers src/libs/kata-types initdata): the digest is taken with the
/// algorithm the document names (top-level <c>algorithm = "..."</c>) over its exact bytes, then fitted to
/// the platform field by truncation or zero padding. The bytes are hashed as they are, never re-serialized; the
/// document is parsed (Tomlyn) only to read the top-level <c>algorithm</c> and <c>version</c> and to refuse what
/// the guest's own TOML reader would refuse.
/// </summary>
public static class InitDataDigest
{
    public static readonly IReadOnlyList<string> Algorithms = ["sha256", "sha384", "sha512"];

    /// <summary>Measures a document; <paramref name="algorithm"/> (if given) must agree with the document's own.</summary>
    public static InitDataMeasurement Compute(byte[] toml, string? algorithm = null)
    {
        ArgumentNullException.ThrowIfNull(toml);
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(toml);
        }
        catch (DecoderFallbackException)
        {
            throw new MeasureException("initdata", "not UTF-8 text");
        }

        var document = InitDataToml.Read(text);
        var declared = TopLevelString(document, "algorithm");
        if (TopLevelString(document, "version") is null)
        {
            throw new MeasureException("initdata.version", "missing top-level 'version' key (e.g. version = \"0.1.0\")");
        }

        if (declared is not null && !Algorithms.Contains(declared))
        {
            throw new MeasureException("initdata.algorithm", $"'{declared}' is not one of {string.Join(", ", Algorithms)}");
        }

        if (algorithm is not null && !Algorithms.Contains(algorithm))
        {
            throw new MeasureException("--alg", $"'{algorithm}' is not one of {string.Join(", ", Algorithms)}");
        }

        if (algorithm is not null && declared is not null && algorithm != declared)
        {
            throw new MeasureException("--alg", $"the document declares algorithm '{declared}'; the guest will use that, not '{algorithm}'");
        }

        var alg = declared ?? algorithm ?? throw new MeasureException("initdata.algorithm", "missing top-level 'algorithm' key and no --alg given");
        var digest = alg switch
        {
            "sha256" => SHA256.HashData(toml),
            "sha384" => SHA384.HashData(toml),
            _ => SHA512.HashData(toml),
        };
        return new InitDataMeasurement(alg, digest, InitDataFields.Fit(digest, InitDataFields.SnpHostDataLength), InitDataFields.Fit(digest, InitDataFields.TdxMrConfigIdLength));
    }

    /// <summary>A top-level string value (one outside every table), or null when the document has none.</summary>
    private static string? TopLevelString(InitDataToml document, string key) =>
        !document.Model.TryGetValue(key, out var value) ? null
            : value as string ?? throw new MeasureException($"initdata.{key}", $"must be a string (e.g. {key} = \"...\")");
}
