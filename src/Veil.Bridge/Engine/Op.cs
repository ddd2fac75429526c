using System.Runtime.InteropServices;

namespace Veil.Bridge.Engine;

/// <summary>What one step of a thread's program does.</summary>
internal enum OpKind : byte
{
    /// <summary>Host CPU work on the issuing thread (scheduling, input preparation, gathers).</summary>
    Cpu,

    /// <summary>Kernel launch(es): the thread pays the launch overhead, the kernel runs on the stream.</summary>
    Launch,

    /// <summary>A host↔device copy (a crossing of the bridge).</summary>
    Copy,

    /// <summary>The thread waits until everything queued on the stream has finished (cudaStreamSynchronize).</summary>
    HostWaitStream,

    /// <summary>Records an event at the current tail of a stream (cudaEventRecord).</summary>
    RecordEvent,

    /// <summary>The thread waits for an event (cudaEventSynchronize); stalls until another thread records it.</summary>
    HostWaitEvent,

    /// <summary>The stream waits for an event before running later work (cudaStreamWaitEvent).</summary>
    StreamWaitEvent,

    /// <summary>The process's one-time CUDA allocation set-up on this thread (its cost depends on CC mode).</summary>
    AllocInit,

    /// <summary>Notes the thread's clock: a finished unit of work (a served step, a restored chunk).</summary>
    Mark,

    /// <summary>
    /// A kernel that reads (or writes) host memory directly over the link (UVA / zero-copy): one launch, then it
    /// occupies its stream for bytes ÷ link bandwidth without using a copy engine or the compute engine. Not
    /// available under CC (notes §3.6), where the engine refuses it.
    /// </summary>
    ZeroCopy,

    /// <summary>The thread has nothing to do until an absolute time (the next request arrives).</summary>
    IdleUntil,
}

/// <summary>
/// Where the host side of a crossing lives. Pinned memory is DMA'd directly; pageable memory is staged by the
/// driver through its own pinned buffer (CUDA runtime "API synchronization behavior"): with CC off that costs a
/// host memcpy and makes the call host-synchronous, with CC on both kinds go through the bounce buffer alike
/// (notes §3.6: pinned and pageable bandwidth are about equal in CC).
/// </summary>
internal enum HostMemory : byte
{
    Pinned,
    Pageable,
}

/// <summary>Direction of a crossing.</summary>
internal enum Direction : byte
{
    HostToDevice,
    DeviceToHost,
}

/// <summary>
/// How a crossing is issued. A DMA-level crossing copies from a persistent buffer (what bandwidthTest
/// measures); an API-level crossing is the framework's alloc-and-copy (a new tensor per call), which
/// under CC pays the much larger per-call toll the Serialized Bridge blog reports.
/// </summary>
internal enum CrossingLevel : byte
{
    Dma,
    Api,
}

/// <summary>One operation of a thread program. A value type so that programs are flat arrays (the benchmark runs millions).</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct Op(OpKind Kind, int Stream, double Micros, long Bytes, Direction Direction, CrossingLevel Level, bool Blocking, int Index, HostMemory Memory = HostMemory.Pinned)
{
    public static Op Cpu(double micros) => new(OpKind.Cpu, 0, micros, 0, default, default, false, 0);

    /// <summary><paramref name="launches"/> launches whose kernels together run <paramref name="kernelMicros"/> on the GPU.</summary>
    public static Op Launch(int stream, double kernelMicros, int launches = 1) =>
        new(OpKind.Launch, stream, kernelMicros, 0, default, default, false, launches);

    public static Op Copy(int stream, Direction direction, long bytes, CrossingLevel level = CrossingLevel.Dma, bool blocking = false, HostMemory memory = HostMemory.Pinned) =>
        new(OpKind.Copy, stream, 0, bytes, direction, level, blocking, 0, memory);

    /// <summary>A zero-copy kernel moving <paramref name="bytes"/> over the link in <paramref name="direction"/> on <paramref name="stream"/>.</summary>
    public static Op ZeroCopy(int stream, Direction direction, long bytes) => new(OpKind.ZeroCopy, stream, 0, bytes, direction, default, false, 1);

    /// <summary>Nothing to do until <paramref name="micros"/> (absolute).</summary>
    public static Op IdleUntil(double micros) => new(OpKind.IdleUntil, 0, micros, 0, default, default, false, 0);

    public static Op Sync(int stream) => new(OpKind.HostWaitStream, stream, 0, 0, default, default, true, 0);

    public static Op Record(int stream, int ev) => new(OpKind.RecordEvent, stream, 0, 0, default, default, false, ev);

    public static Op WaitEvent(int ev) => new(OpKind.HostWaitEvent, 0, 0, 0, default, default, true, ev);

    public static Op StreamWait(int stream, int ev) => new(OpKind.StreamWaitEvent, stream, 0, 0, default, default, false, ev);

    public static Op AllocInit() => new(OpKind.AllocInit, 0, 0, 0, default, default, true, 0);

    public static Op Mark(int id = 0) => new(OpKind.Mark, 0, 0, 0, default, default, false, id);
}
