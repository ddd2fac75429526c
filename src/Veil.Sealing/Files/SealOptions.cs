namespace Veil.Sealing;

/// <summary>How to seal or unseal: parallelism, chunk size (sealing only), and a progress callback.</summary>
public sealed record SealOptions
{
    /// <summary>Worker threads; each holds one chunk buffer, so memory is about threads × chunk size.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public int ChunkSize { get; init; } = SealedHeader.DefaultChunkSize;

    /// <summary>Called with the number of plaintext bytes just processed; may be called from several threads.</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>Folders only: called before each file with its relative path and plaintext size.</summary>
    public Action<string, long>? FileStarted { get; init; }

    internal int EffectiveThreads => Math.Clamp(Threads, 1, 256);
}
