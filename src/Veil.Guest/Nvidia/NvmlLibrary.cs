using System.Runtime.InteropServices;

namespace Veil.Guest;

/// <summary>
/// The few NVML entry points confidential computing needs, bound by name from <c>libnvidia-ml.so.1</c> (or a
/// given path: tests load a fake built from C). Struct layouts follow nvml.h:
/// <code>
/// nvmlConfComputeSystemState_t        { uint environment; uint ccFeature; uint devToolsMode; }
/// nvmlConfComputeGpuAttestationReport_t { uint isCecAttestationReportPresent; uint attestationReportSize;
///     uint cecAttestationReportSize; u8 nonce[0x20]; u8 attestationReport[0x2000]; u8 cecAttestationReport[0x1000]; }
/// nvmlConfComputeGpuCertificate_t     { uint certChainSize; uint attestationCertChainSize;
///     u8 certChain[0x1000]; u8 attestationCertChain[0x1400]; }
/// </code>
/// </summary>
internal sealed unsafe class NvmlLibrary : IDisposable
{
    public const string DefaultName = "libnvidia-ml.so.1";
    public const int NonceSize = 0x20;
    public const int ReportSize = 0x2000;
    public const int CecReportSize = 0x1000;
    public const int CertChainSize = 0x1000;
    public const int AttestationCertChainSize = 0x1400;
    private const string Source = "nvml";

    /// <summary>nvmlDeviceArchitecture_t values (nvml.h NVML_DEVICE_ARCH_*) of the GPUs with confidential computing.</summary>
    public const uint ArchHopper = 9;
    public const uint ArchBlackwell = 10;

    private readonly nint handle;
    private readonly delegate* unmanaged<int> init;
    private readonly delegate* unmanaged<int> shutdown;
    private readonly delegate* unmanaged<nint, byte*> errorString;
    private readonly delegate* unmanaged<uint*, int> deviceGetCount;
    private readonly delegate* unmanaged<uint, nint*, int> deviceGetHandleByIndex;
    private readonly delegate* unmanaged<ConfComputeSystemState*, int> systemGetConfComputeState;
    private readonly delegate* unmanaged<nint, uint*, int> deviceGetArchitecture;
    private readonly delegate* unmanaged<nint, byte*, int> deviceGetAttestationReport;
    private readonly delegate* unmanaged<nint, byte*, int> deviceGetCertificate;
    private readonly delegate* unmanaged<uint, int> systemSetGpusReadyState;
    private readonly delegate* unmanaged<uint*, int> systemGetGpusReadyState;
    private bool initialized;

    private NvmlLibrary(nint handle)
    {
        this.handle = handle;
        init = (delegate* unmanaged<int>)Export("nvmlInit_v2");
        shutdown = (delegate* unmanaged<int>)Export("nvmlShutdown");
        errorString = (delegate* unmanaged<nint, byte*>)Export("nvmlErrorString");
        deviceGetCount = (delegate* unmanaged<uint*, int>)Export("nvmlDeviceGetCount_v2");
        deviceGetHandleByIndex = (delegate* unmanaged<uint, nint*, int>)Export("nvmlDeviceGetHandleByIndex_v2");
        systemGetConfComputeState = (delegate* unmanaged<ConfComputeSystemState*, int>)Export("nvmlSystemGetConfComputeState");
        deviceGetArchitecture = (delegate* unmanaged<nint, uint*, int>)Export("nvmlDeviceGetArchitecture");
        deviceGetAttestationReport = (delegate* unmanaged<nint, byte*, int>)Export("nvmlDeviceGetConfComputeGpuAttestationReport");
        deviceGetCertificate = (delegate* unmanaged<nint, byte*, int>)Export("nvmlDeviceGetConfComputeGpuCertificate");
        systemSetGpusReadyState = (delegate* unmanaged<uint, int>)Export("nvmlSystemSetConfComputeGpusReadyState");
        systemGetGpusReadyState = (delegate* unmanaged<uint*, int>)Export("nvmlSystemGetConfComputeGpusReadyState");
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct ConfComputeSystemState
    {
        public uint Environment;
        public uint CcFeature;
        public uint DevToolsMode;
    }

    /// <summary>Loads and initialises NVML; a missing library or entry point is an <see cref="AttesterException"/>.</summary>
    public static NvmlLibrary Open(string path = DefaultName)
    {
        if (!NativeLibrary.TryLoad(path, out var handle))
        {
            throw new AttesterException(Source, $"{path}: cannot be loaded (no NVIDIA driver in this VM?)");
        }

        var lib = new NvmlLibrary(handle);
        lib.Check(lib.init(), "nvmlInit_v2");
        lib.initialized = true;
        return lib;
    }

    public static bool IsPresent(string path = DefaultName)
    {
        if (!NativeLibrary.TryLoad(path, out var h))
        {
            return false;
        }

        NativeLibrary.Free(h);
        return true;
    }

    public ConfComputeSystemState GetConfComputeState()
    {
        ConfComputeSystemState s;
        Check(systemGetConfComputeState(&s), "nvmlSystemGetConfComputeState");
        return s;
    }

    public uint DeviceCount()
    {
        uint n;
        Check(deviceGetCount(&n), "nvmlDeviceGetCount_v2");
        return n;
    }

    public nint Device(uint index)
    {
        nint d;
        Check(deviceGetHandleByIndex(index, &d), "nvmlDeviceGetHandleByIndex_v2");
        return d;
    }

    public uint Architecture(nint device)
    {
        uint arch;
        Check(deviceGetArchitecture(device, &arch), "nvmlDeviceGetArchitecture");
        return arch;
    }

    /// <summary>SPDM GET_MEASUREMENTS signed by the GPU over our nonce (request ‖ response bytes).</summary>
    public byte[] AttestationReport(nint device, ReadOnlySpan<byte> nonce)
    {
        const int size = 12 + NonceSize + ReportSize + CecReportSize;
        var buffer = new byte[size];
        nonce.CopyTo(buffer.AsSpan(12, NonceSize));
        fixed (byte* p = buffer)
        {
            Check(deviceGetAttestationReport(device, p), "nvmlDeviceGetConfComputeGpuAttestationReport");
        }

        var length = BitConverter.ToUInt32(buffer, 4);
        if (length is 0 or > ReportSize)
        {
            throw new AttesterException(Source, $"attestationReportSize: {length} is outside 1..{ReportSize}");
        }

        return buffer.AsSpan(12 + NonceSize, (int)length).ToArray();
    }

    /// <summary>The attestation certificate chain (PEM, leaf first).</summary>
    public byte[] AttestationCertChain(nint device)
    {
        const int size = 8 + CertChainSize + AttestationCertChainSize;
        var buffer = new byte[size];
        fixed (byte* p = buffer)
        {
            Check(deviceGetCertificate(device, p), "nvmlDeviceGetConfComputeGpuCertificate");
        }

        var length = BitConverter.ToUInt32(buffer, 4);
        if (length is 0 or > AttestationCertChainSize)
        {
            throw new AttesterException(Source, $"attestationCertChainSize: {length} is outside 1..{AttestationCertChainSize}");
        }

        return buffer.AsSpan(8 + CertChainSize, (int)length).ToArray();
    }

    public void SetGpusReadyState(bool ready) =>
        Check(systemSetGpusReadyState(ready ? 1u : 0u), "nvmlSystemSetConfComputeGpusReadyState");

    public bool GetGpusReadyState()
    {
        uint v;
        Check(systemGetGpusReadyState(&v), "nvmlSystemGetConfComputeGpusReadyState");
        return v != 0;
    }

    public void Dispose()
    {
        if (initialized)
        {
            _ = shutdown();
            initialized = false;
        }

        NativeLibrary.Free(handle);
    }

    private nint Export(string name) =>
        NativeLibrary.TryGetExport(handle, name, out var f)
            ? f
            : throw new AttesterException(Source, $"{name}: not exported (driver too old for confidential computing?)");

    private void Check(int rc, string call)
    {
        if (rc != 0)
        {
            var text = Marshal.PtrToStringUTF8((nint)errorString(rc)) ?? "unknown";
            throw new AttesterException(Source, $"{call} failed: {text} (nvmlReturn {rc})");
        }
    }
}
