using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>
/// Intel's QE Identity (PCS API v4 Enclave Identity version 2, id "TD_QE" for TDX): which Quoting Enclave
/// Intel vouches for (signer, product, masked attributes and MISCSELECT) and the TCB levels of its ISV SVN.
/// </summary>
public sealed record QeIdentity
{
    public required string Id { get; init; }

    public required int Version { get; init; }

    public required DateTimeOffset IssueDate { get; init; }

    public required DateTimeOffset NextUpdate { get; init; }

    public required long TcbEvaluationDataNumber { get; init; }

    /// <summary>Read from hex text as a number, the way Intel's QVL compares it with the report's u32.</summary>
    public required uint MiscSelect { get; init; }

    public required uint MiscSelectMask { get; init; }

    public required ReadOnlyMemory<byte> Attributes { get; init; }

    public required ReadOnlyMemory<byte> AttributesMask { get; init; }

    public required ReadOnlyMemory<byte> MrSigner { get; init; }

    public required int IsvProdId { get; init; }

    public required IReadOnlyList<IsvSvnTcbLevel> TcbLevels { get; init; }

    public static QeIdentity Parse(ReadOnlyMemory<byte> signedBody)
    {
        const string p = "qe_identity";
        using var doc = JsonFields.Parse(signedBody, p);
        var root = JsonFields.Object(doc.RootElement, p);
        return new QeIdentity
        {
            Id = JsonFields.String(root, "id", p),
            Version = (int)JsonFields.Integer(root, "version", p),
            IssueDate = JsonFields.Date(root, "issueDate", p),
            NextUpdate = JsonFields.Date(root, "nextUpdate", p),
            TcbEvaluationDataNumber = JsonFields.Integer(root, "tcbEvaluationDataNumber", p),
            MiscSelect = U32(JsonFields.HexBytes(root, "miscselect", p, 4)),
            MiscSelectMask = U32(JsonFields.HexBytes(root, "miscselectMask", p, 4)),
            Attributes = JsonFields.HexBytes(root, "attributes", p, 16),
            AttributesMask = JsonFields.HexBytes(root, "attributesMask", p, 16),
            MrSigner = JsonFields.HexBytes(root, "mrsigner", p, 32),
            IsvProdId = (int)JsonFields.Integer(root, "isvprodid", p, 0xFFFF),
            TcbLevels = IsvSvnTcbLevel.ReadAll(root, p),
        };
    }

    private static uint U32(byte[] bigEndian) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bigEndian);
}
