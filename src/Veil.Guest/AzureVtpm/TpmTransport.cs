using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Veil.Guest;

/// <summary>The lowest layer of the vTPM path: one TPM 2.0 command in, its response out. Tests replace only this (swtpm).</summary>
public interface ITpmTransport : IDisposable
{
    byte[] Execute(ReadOnlySpan<byte> command);
}

/// <summary>
/// A TPM character device (<c>/dev/tpmrm0</c>, the kernel's resource manager): write(2) one command, read(2) its
/// response. Hand-written rather than through tpm2-tss because the guest needs six commands and no native library.
/// </summary>
public sealed class TpmDevice(string path = TpmDevice.DefaultPath) : ITpmTransport
{
    public const string DefaultPath = "/dev/tpmrm0";

    private readonly Lock gate = new();
    private FileStream? stream;

    public static bool IsPresent(string path = DefaultPath) => File.Exists(path);

    public byte[] Execute(ReadOnlySpan<byte> command)
    {
        lock (gate)
        {
            stream ??= new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
            stream.Write(command);
            // The driver hands back a whole response per read; 8 KiB is above any TPM's MAX_RESPONSE_SIZE.
            var buffer = new byte[8192];
            var n = stream.Read(buffer);
            return TpmWire.Complete(buffer.AsSpan(0, n), "tpm device");
        }
    }

    public void Dispose() => stream?.Dispose();
}

/// <summary>
/// A software TPM's command port (swtpm <c>socket --server type=tcp</c>): the same raw commands over TCP. Loopback
/// only: a TPM on another host proves nothing about this one.
/// </summary>
public sealed class TpmTcpTransport : ITpmTransport
{
    private readonly TcpClient client;
    private readonly NetworkStream stream;

    public TpmTcpTransport(IPEndPoint endpoint)
    {
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            throw new AttesterException("tpm", $"{endpoint}: a TPM command port must be on loopback");
        }

        client = new TcpClient();
        client.Connect(endpoint);
        stream = client.GetStream();
    }

    public byte[] Execute(ReadOnlySpan<byte> command)
    {
        stream.Write(command);
        var header = new byte[TpmWire.HeaderLength];
        stream.ReadExactly(header);
        var size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(2));
        if (size is < TpmWire.HeaderLength or > 65536)
        {
            throw new AttesterException("tpm", $"response size {size} out of range");
        }

        var response = new byte[size];
        header.CopyTo(response, 0);
        stream.ReadExactly(response.AsSpan(TpmWire.HeaderLength));
        return response;
    }

    public void Dispose()
    {
        stream.Dispose();
        client.Dispose();
    }
}

/// <summary>TPM 2.0 command/response framing (TPM 2.0 Part 1 §18, Part 3 §5): tag UINT16 ‖ size UINT32 ‖ code UINT32.</summary>
internal static class TpmWire
{
    public const int HeaderLength = 10;

    public static byte[] Complete(ReadOnlySpan<byte> response, string source)
    {
        if (response.Length < HeaderLength)
        {
            throw new AttesterException("tpm", $"{source}: {response.Length}-byte response, shorter than its header");
        }

        var size = BinaryPrimitives.ReadUInt32BigEndian(response[2..]);
        return size == response.Length ? response.ToArray() : throw new AttesterException("tpm", $"{source}: response says {size} bytes, {response.Length} read");
    }
}
