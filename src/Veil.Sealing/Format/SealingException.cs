namespace Veil.Sealing;

/// <summary>Why a sealed file or set was refused. Each value names one failure an operator can act on.</summary>
public enum SealingError
{
    /// <summary>A header field is out of range, truncated or not of this format.</summary>
    InvalidHeader,

    /// <summary>The format version is not one this build reads.</summary>
    UnsupportedVersion,

    /// <summary>The data key did not unwrap: wrong key-encryption key, or the header was modified.</summary>
    KeyUnwrapFailed,

    /// <summary>A chunk failed authentication: modified, reordered, or taken from another file.</summary>
    ChunkAuthenticationFailed,

    /// <summary>The sealed file is shorter than its header says (truncated).</summary>
    Truncated,

    /// <summary>The sealed file has bytes after its final chunk.</summary>
    TrailingData,

    /// <summary>The key-encryption key file is not 32 raw bytes.</summary>
    InvalidKeyFile,

    /// <summary>The sealed manifest is malformed.</summary>
    InvalidManifest,

    /// <summary>A file listed in the manifest is missing from the sealed set.</summary>
    MissingFile,

    /// <summary>A sealed file is present that the manifest does not list.</summary>
    UnexpectedFile,

    /// <summary>A sealed file is not the one the manifest lists (swapped, renamed, or from another sealed set).</summary>
    FileNotInSet,

    /// <summary>The restored plaintext does not match the manifest's size or digest.</summary>
    DigestMismatch,

    /// <summary>The destination exists and would be overwritten, or is not empty.</summary>
    DestinationExists,

    /// <summary>The destination's filesystem has less free space than the plaintext needs.</summary>
    InsufficientSpace,
}

/// <summary>
/// A sealed file or set that cannot be opened. The message names the file, the field or chunk and the reason;
/// it never carries key material or plaintext.
/// </summary>
public sealed class SealingException : Exception
{
    public SealingException(SealingError error, string message)
        : base(message)
    {
        Error = error;
    }

    public SealingException(SealingError error, string message, Exception inner)
        : base(message, inner)
    {
        Error = error;
    }

    public SealingException()
        : this(SealingError.InvalidHeader, "invalid sealed file")
    {
    }

    public SealingException(string message)
        : this(SealingError.InvalidHeader, message)
    {
    }

    public SealingException(string message, Exception inner)
        : this(SealingError.InvalidHeader, message, inner)
    {
    }

    public SealingError Error { get; }
}
