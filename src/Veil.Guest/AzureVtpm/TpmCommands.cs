using System.Buffers.Binary;

namespace Veil.Guest;

/// <summary>A TPM response code other than TPM_RC_SUCCESS, named with the command that got it.</summary>
public sealed class TpmResponseException(string command, uint code)
    : Exception($"tpm: {command} returned TPM_RC 0x{code:x3}")
{
    public string Command { get; } = command;

    public uint Code { get; } = code;
}

/// <summary>The TPM2 commands the Azure vTPM attester uses (TPM 2.0 Part 3), marshalled by hand, with owner/AK password sessions.</summary>
public sealed class TpmCommands(ITpmTransport transport)
{
    public const uint RhOwner = 0x40000001;
    private const uint RsPw = 0x40000009;
    private const ushort StNoSessions = 0x8001;
    private const ushort StSessions = 0x8002;
    private const ushort AlgSha256 = 0x000B;
    private const ushort AlgNull = 0x0010;

    /// <summary>TPM_RC_HANDLE for parameter 1 (0x18B) and its variants: the NV index or object is not there.</summary>
    public static bool IsMissingHandle(uint code) => (code & 0xBF) == 0x8B;

    /// <summary>TPM2_NV_ReadPublic: the index's data size, or null when the index is not defined.</summary>
    public int? NvSize(uint index)
    {
        var r = Run("TPM2_NV_ReadPublic", 0x169, StNoSessions, [index], null, [], allowMissing: true);
        if (r is null)
        {
            return null;
        }

        var p = new Reader(r, "TPM2_NV_ReadPublic");
        p.U16(); // TPM2B_NV_PUBLIC size
        p.U32(); // nvIndex
        p.U16(); // nameAlg
        p.U32(); // attributes
        p.Sized(); // authPolicy
        return p.U16();
    }

    /// <summary>TPM2_NV_Read of the whole index, in chunks of <paramref name="chunk"/> bytes, with owner authorization.</summary>
    public byte[] NvReadAll(uint index, int chunk = 1024)
    {
        var size = NvSize(index) ?? throw new AttesterException("tpm", $"NV index 0x{index:x8} is not defined");
        var data = new byte[size];
        for (var offset = 0; offset < size; offset += chunk)
        {
            var n = Math.Min(chunk, size - offset);
            var r = Run("TPM2_NV_Read", 0x14E, StSessions, [RhOwner, index], [], [.. U16((ushort)n), .. U16((ushort)offset)])!;
            var p = new Reader(r, "TPM2_NV_Read");
            var got = p.Sized();
            if (got.Length != n)
            {
                throw new AttesterException("tpm", $"TPM2_NV_Read returned {got.Length} bytes, {n} asked");
            }

            got.CopyTo(data.AsSpan(offset));
        }

        return data;
    }

    /// <summary>TPM2_NV_DefineSpace with owner authorization: an ordinary index, read/write by owner or its own (empty) auth.</summary>
    public void NvDefine(uint index, int size)
    {
        // TPMA_NV_OWNERWRITE | AUTHWRITE | OWNERREAD | AUTHREAD, as tpm2_nvdefine -C o makes it.
        const uint attributes = 0x00060006;
        byte[] nvPublic = [.. U32(index), .. U16(AlgSha256), .. U32(attributes), .. U16(0), .. U16((ushort)size)];
        Run("TPM2_NV_DefineSpace", 0x12A, StSessions, [RhOwner], [], [.. U16(0), .. U16((ushort)nvPublic.Length), .. nvPublic]);
    }

    public void NvWrite(uint index, ReadOnlySpan<byte> data) =>
        Run("TPM2_NV_Write", 0x137, StSessions, [RhOwner, index], [], [.. U16((ushort)data.Length), .. data, .. U16(0)]);

    /// <summary>TPM2_Quote over the SHA-256 bank's <paramref name="pcrs"/> with the key's own scheme: (TPMS_ATTEST bytes, TPMT_SIGNATURE bytes).</summary>
    public (byte[] Attest, byte[] Signature) Quote(uint key, ReadOnlySpan<byte> qualifyingData, IReadOnlyList<int> pcrs)
    {
        var r = Run("TPM2_Quote", 0x158, StSessions, [key], [], [.. U16((ushort)qualifyingData.Length), .. qualifyingData, .. U16(AlgNull), .. Selection(pcrs)])!;
        var p = new Reader(r, "TPM2_Quote");
        var attest = p.Sized().ToArray();
        return (attest, p.Rest().ToArray());
    }

    /// <summary>TPM2_PCR_Read of SHA-256 PCRs; the TPM answers at most eight per call, so it is asked until all are read.</summary>
    public List<byte[]> PcrRead(IReadOnlyList<int> pcrs)
    {
        var values = new Dictionary<int, byte[]>();
        var remaining = pcrs.ToList();
        while (remaining.Count > 0)
        {
            var r = Run("TPM2_PCR_Read", 0x17E, StNoSessions, [], null, Selection(remaining))!;
            var p = new Reader(r, "TPM2_PCR_Read");
            p.U32(); // pcrUpdateCounter
            var read = new List<int>();
            var count = p.U32();
            for (var i = 0; i < count; i++)
            {
                p.U16();
                var bitmap = p.Bytes(p.U8());
                for (var bit = 0; bit < bitmap.Length * 8; bit++)
                {
                    if ((bitmap[bit / 8] & (1 << (bit % 8))) != 0)
                    {
                        read.Add(bit);
                    }
                }
            }

            var digests = p.U32();
            if (digests != read.Count || read.Count == 0)
            {
                throw new AttesterException("tpm", $"TPM2_PCR_Read returned {digests} digests for {read.Count} PCRs");
            }

            foreach (var index in read)
            {
                values[index] = p.Sized().ToArray();
                remaining.Remove(index);
            }
        }

        return [.. pcrs.Select(i => values[i])];
    }

    /// <summary>TPM2_PCR_Extend of a SHA-256 PCR (CoCo binds init-data into PCR 8 this way).</summary>
    public void PcrExtend(int pcr, ReadOnlySpan<byte> sha256) =>
        Run("TPM2_PCR_Extend", 0x182, StSessions, [(uint)pcr], [], [.. U32(1), .. U16(AlgSha256), .. sha256]);

    /// <summary>TPM2_ReadPublic: the object's TPMT_PUBLIC.</summary>
    public TpmPublicKey ReadPublic(uint handle)
    {
        var r = Run("TPM2_ReadPublic", 0x173, StNoSessions, [handle], null, [])!;
        return TpmPublicKey.Parse(new Reader(r, "TPM2_ReadPublic").Sized());
    }

    private byte[]? Run(string name, uint code, ushort tag, uint[] handles, byte[]? auth, ReadOnlySpan<byte> parameters, bool allowMissing = false)
    {
        var body = new List<byte>();
        foreach (var h in handles)
        {
            body.AddRange(U32(h));
        }

        if (tag == StSessions)
        {
            // One password session with an empty password: TPM_RS_PW ‖ nonce (empty) ‖ attributes ‖ hmac (the password).
            byte[] session = [.. U32(RsPw), .. U16(0), 0, .. U16((ushort)(auth?.Length ?? 0)), .. auth ?? []];
            body.AddRange(U32((uint)session.Length));
            body.AddRange(session);
        }

        body.AddRange(parameters.ToArray());
        byte[] command = [.. U16(tag), .. U32((uint)(TpmWire.HeaderLength + body.Count)), .. U32(code), .. body];
        var response = transport.Execute(command);
        var rc = BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(6));
        if (rc != 0)
        {
            return allowMissing && IsMissingHandle(rc) ? null : throw new TpmResponseException(name, rc);
        }

        // Response handles: none for these commands. With sessions, a parameterSize UINT32 precedes the parameters.
        var start = TpmWire.HeaderLength;
        if (BinaryPrimitives.ReadUInt16BigEndian(response) == StSessions)
        {
            var size = BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(start));
            return response.AsSpan(start + 4, (int)Math.Min(size, (uint)(response.Length - start - 4))).ToArray();
        }

        return response[start..];
    }

    private static byte[] Selection(IReadOnlyList<int> pcrs)
    {
        var bitmap = new byte[3];
        foreach (var p in pcrs)
        {
            bitmap[p / 8] |= (byte)(1 << (p % 8));
        }

        return [.. U32(1), .. U16(AlgSha256), 3, .. bitmap];
    }

    internal static byte[] U16(ushort v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    internal static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    /// <summary>Reads response parameters; running out is an <see cref="AttesterException"/> naming the command.</summary>
    internal sealed class Reader(byte[] bytes, string command)
    {
        private int at;

        public byte U8() => Bytes(1)[0];

        public ushort U16() => BinaryPrimitives.ReadUInt16BigEndian(Bytes(2));

        public uint U32() => BinaryPrimitives.ReadUInt32BigEndian(Bytes(4));

        public ReadOnlySpan<byte> Sized() => Bytes(U16());

        public ReadOnlySpan<byte> Rest() => Bytes(bytes.Length - at);

        public ReadOnlySpan<byte> Bytes(int n)
        {
            if (n > bytes.Length - at)
            {
                throw new AttesterException("tpm", $"{command}: response truncated ({bytes.Length - at} bytes left, {n} needed)");
            }

            var s = bytes.AsSpan(at, n);
            at += n;
            return s;
        }
    }
}
