using System.Text.Json;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx.IntelCollateral;

/// <summary>
/// Intel's TDX TCB Info (PCS API v4, TCB Info version 3, id "TDX"): for one FMSPC, the TCB levels of the
/// platform (SGX components, PCE SVN, TDX components) and of the TDX module, each with a status.
/// Parsed from the exact signed bytes; every field error names its path.
/// </summary>
public sealed record TcbInfo
{
    public required string Id { get; init; }

    public required int Version { get; init; }

    public required DateTimeOffset IssueDate { get; init; }

    public required DateTimeOffset NextUpdate { get; init; }

    public required ReadOnlyMemory<byte> Fmspc { get; init; }

    public required ReadOnlyMemory<byte> PceId { get; init; }

    public required long TcbEvaluationDataNumber { get; init; }

    /// <summary>The TDX module signer and attributes (absent in SGX TCB Info).</summary>
    public required TdxModuleIdentity? TdxModule { get; init; }

    public required IReadOnlyList<TdxModuleIdentity> TdxModuleIdentities { get; init; }

    /// <summary>In Intel's order: highest TCB first.</summary>
    public required IReadOnlyList<PlatformTcbLevel> TcbLevels { get; init; }

    public static TcbInfo Parse(ReadOnlyMemory<byte> signedBody)
    {
        const string p = "tcb_info";
        using var doc = JsonFields.Parse(signedBody, p);
        var root = JsonFields.Object(doc.RootElement, p);
        var levels = new List<PlatformTcbLevel>();
        foreach (var (level, i) in JsonFields.Array(root, "tcbLevels", p).Select((l, i) => (l, i)))
        {
            levels.Add(PlatformTcbLevel.Read(level, $"{p}.tcbLevels[{i}]"));
        }

        var identities = new List<TdxModuleIdentity>();
        if (JsonFields.Optional(root, "tdxModuleIdentities") is { ValueKind: JsonValueKind.Array } ids)
        {
            var i = 0;
            foreach (var id in ids.EnumerateArray())
            {
                identities.Add(TdxModuleIdentity.Read(id, $"{p}.tdxModuleIdentities[{i++}]", withLevels: true));
            }
        }

        return new TcbInfo
        {
            Id = JsonFields.String(root, "id", p),
            Version = (int)JsonFields.Integer(root, "version", p),
            IssueDate = JsonFields.Date(root, "issueDate", p),
            NextUpdate = JsonFields.Date(root, "nextUpdate", p),
            Fmspc = JsonFields.HexBytes(root, "fmspc", p, 6),
            PceId = JsonFields.HexBytes(root, "pceId", p, 2),
            TcbEvaluationDataNumber = JsonFields.Integer(root, "tcbEvaluationDataNumber", p),
            TdxModule = JsonFields.Optional(root, "tdxModule") is { } m ? TdxModuleIdentity.Read(m, $"{p}.tdxModule", withLevels: false) : null,
            TdxModuleIdentities = identities,
            TcbLevels = levels.Count > 0 ? levels : throw new EvidenceFormatException($"{p}.tcbLevels", "empty"),
        };
    }
}

/// <summary>A platform TCB level: 16 SGX component SVNs, the PCE SVN and (TDX) 16 TDX component SVNs.</summary>
public sealed record PlatformTcbLevel(IReadOnlyList<int> SgxComponents, int PceSvn, IReadOnlyList<int>? TdxComponents, TcbVerdict Verdict)
{
    internal static PlatformTcbLevel Read(JsonElement level, string path)
    {
        var tcb = JsonFields.Get(level, "tcb", path);
        var tdx = JsonFields.Optional(tcb, "tdxtcbcomponents") is not null ? Components(tcb, "tdxtcbcomponents", $"{path}.tcb") : null;
        return new PlatformTcbLevel(
            Components(tcb, "sgxtcbcomponents", $"{path}.tcb"),
            (int)JsonFields.Integer(tcb, "pcesvn", $"{path}.tcb", 0xFFFF),
            tdx,
            ReadVerdict(level, path));
    }

    internal static TcbVerdict ReadVerdict(JsonElement level, string path) => new(
        TcbStatuses.Parse(JsonFields.String(level, "tcbStatus", path), $"{path}.tcbStatus"),
        JsonFields.Strings(level, "advisoryIDs", path),
        JsonFields.Date(level, "tcbDate", path));

    private static int[] Components(JsonElement tcb, string name, string path)
    {
        var items = JsonFields.Array(tcb, name, path);
        if (items.Count != 16)
        {
            throw new EvidenceFormatException($"{path}.{name}", $"{items.Count} components, expected 16");
        }

        return [.. items.Select((c, i) => (int)JsonFields.Integer(c, "svn", $"{path}.{name}[{i}]", 0xFF))];
    }
}

/// <summary>
/// The TDX module's expected signer and attributes, and (for a module identity "TDX_nn") its own TCB levels by
/// ISV SVN. Also used for the QE Identity's levels (ISV SVN only).
/// </summary>
public sealed record TdxModuleIdentity(string? Id, ReadOnlyMemory<byte> MrSigner, ReadOnlyMemory<byte> Attributes, ReadOnlyMemory<byte> AttributesMask, IReadOnlyList<IsvSvnTcbLevel> TcbLevels)
{
    internal static TdxModuleIdentity Read(JsonElement e, string path, bool withLevels) => new(
        withLevels ? JsonFields.String(e, "id", path) : null,
        JsonFields.HexBytes(e, "mrsigner", path, 48),
        JsonFields.HexBytes(e, "attributes", path, 8),
        JsonFields.HexBytes(e, "attributesMask", path, 8),
        withLevels ? IsvSvnTcbLevel.ReadAll(e, path) : []);
}

/// <summary>A TCB level keyed by one ISV SVN (TDX module identities, QE Identity).</summary>
public sealed record IsvSvnTcbLevel(int IsvSvn, TcbVerdict Verdict)
{
    internal static IReadOnlyList<IsvSvnTcbLevel> ReadAll(JsonElement owner, string path)
    {
        var list = new List<IsvSvnTcbLevel>();
        foreach (var (level, i) in JsonFields.Array(owner, "tcbLevels", path).Select((l, i) => (l, i)))
        {
            var lp = $"{path}.tcbLevels[{i}]";
            list.Add(new IsvSvnTcbLevel(
                (int)JsonFields.Integer(JsonFields.Get(level, "tcb", lp), "isvsvn", $"{lp}.tcb", 0xFFFF),
                PlatformTcbLevel.ReadVerdict(level, lp)));
        }

        return list.Count > 0 ? list : throw new EvidenceFormatException($"{path}.tcbLevels", "empty");
    }
}
