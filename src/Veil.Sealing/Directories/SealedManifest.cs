using System.Text.Json;
using System.Text.Json.Serialization;

namespace Veil.Sealing;

/// <summary>One file of a sealed set: where its plaintext goes, its size and digest, and the digest of its sealed header.</summary>
public sealed record ManifestEntry(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("sealed_path")] string SealedPath,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("sealed_header_sha256")] string SealedHeaderSha256);

/// <summary>
/// The manifest of a sealed directory. It is itself sealed (kind = manifest), and lists each file's sealed header
/// digest, which commits to that file's random nonce and wrapped data key: a file from another set, a swapped or
/// renamed file, or a dropped one cannot match it.
/// </summary>
public sealed record SealedManifest(
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("set_id")] string SetId,
    [property: JsonPropertyName("key_id")] string KeyId,
    [property: JsonPropertyName("files")] IReadOnlyList<ManifestEntry> Files)
{
    public const string FormatName = "veil-sealed-set/1";
    public const string FileName = "MANIFEST.veil";
    public const string SealedSuffix = ".veil";

    /// <summary>Larger than any plausible model folder's manifest; a bound so a hostile header cannot make us buffer gigabytes.</summary>
    internal const long MaxLength = 16 << 20;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Parses and validates: known format, safe relative paths, no duplicates, hex digests.</summary>
    public static SealedManifest Parse(ReadOnlySpan<byte> json)
    {
        SealedManifest? m;
        try
        {
            m = JsonSerializer.Deserialize<SealedManifest>(json, Json);
        }
        catch (JsonException e)
        {
            throw new SealingException(SealingError.InvalidManifest, $"manifest: not valid JSON ({e.Message})", e);
        }

        if (m is null || m.Format != FormatName)
        {
            throw new SealingException(SealingError.InvalidManifest, $"manifest.format: expected '{FormatName}'");
        }

        if (m.Files is null || m.SetId is null || m.KeyId is null)
        {
            throw new SealingException(SealingError.InvalidManifest, "manifest: set_id, key_id and files are required");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in m.Files)
        {
            if (f is null)
            {
                throw new SealingException(SealingError.InvalidManifest, "manifest.files: null entry");
            }

            CheckRelativePath(f.Path, "manifest.files.path");
            CheckRelativePath(f.SealedPath, "manifest.files.sealed_path");
            if (f.SealedPath != f.Path + SealedSuffix || f.SealedPath == FileName)
            {
                throw new SealingException(SealingError.InvalidManifest, $"manifest.files.sealed_path: '{f.SealedPath}' is not '{f.Path}{SealedSuffix}'");
            }

            if (!seen.Add(f.Path))
            {
                throw new SealingException(SealingError.InvalidManifest, $"manifest.files.path: '{f.Path}' listed twice");
            }

            if (f.Size < 0 || !IsHex(f.Sha256, 64) || !IsHex(f.SealedHeaderSha256, 64))
            {
                throw new SealingException(SealingError.InvalidManifest, $"manifest.files['{f.Path}']: size or digests malformed");
            }
        }

        return m;
    }

    /// <summary>Relative, forward slashes, no empty/dot segments: an entry can never write outside the target folder.</summary>
    internal static void CheckRelativePath(string? path, string field)
    {
        if (string.IsNullOrEmpty(path) || path.Length > 4096 || path.StartsWith('/') || path.Contains('\\') || path.Contains('\0')
            || path.Split('/').Any(s => s.Length == 0 || s is "." or ".."))
        {
            throw new SealingException(SealingError.InvalidManifest, $"{field}: '{path}' is not a safe relative path");
        }
    }

    private static bool IsHex(string? s, int length) =>
        s is not null && s.Length == length && s.All(char.IsAsciiHexDigitLower);
}
