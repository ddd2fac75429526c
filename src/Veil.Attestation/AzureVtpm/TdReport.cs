using System.Buffers.Binary;

namespace Veil.Attestation.AzureVtpm;

/// <summary>
/// The 1024-byte TDREPORT_STRUCT inside an Azure TDX HCL report (Intel TDX Module ABI: REPORTMACSTRUCT 256 bytes
/// with REPORTDATA at 128; TEE_TCB_INFO 239 + 17 reserved; TDINFO_STRUCT at 512: ATTRIBUTES, XFAM, MRTD,
/// MRCONFIGID, MROWNER, MROWNERCONFIG, RTMR0-3, 112 reserved). It is only MACed for the local CPU, so nothing in
/// it is trusted: the verifier requires its fields to equal the signed TD quote's.
/// </summary>
internal sealed record TdReport(ReadOnlyMemory<byte> ReportData, ulong Attributes, ulong Xfam, IReadOnlyList<(string Name, ReadOnlyMemory<byte> Value)> Measurements)
{
    public static TdReport Read(ReadOnlyMemory<byte> m)
    {
        var b = m.Span;
        return new TdReport(
            m.Slice(128, 64),
            BinaryPrimitives.ReadUInt64LittleEndian(b[512..]),
            BinaryPrimitives.ReadUInt64LittleEndian(b[520..]),
            [("mr_td", m.Slice(528, 48)), ("mr_config_id", m.Slice(576, 48)), ("mr_owner", m.Slice(624, 48)), ("mr_owner_config", m.Slice(672, 48)),
             ("rtmr0", m.Slice(720, 48)), ("rtmr1", m.Slice(768, 48)), ("rtmr2", m.Slice(816, 48)), ("rtmr3", m.Slice(864, 48))]);
    }
}
