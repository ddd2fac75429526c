using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Tdx.Checks;

/// <summary>The outcome of grading a quote against TCB Info and QE Identity.</summary>
public sealed record TcbEvaluationResult(TcbVerdict? Platform, TcbVerdict? Module, TcbVerdict? Qe)
{
    /// <summary>
    /// TDX 1.5 bodies only: whether Intel's QVL would advise relaunching the TD (<see cref="TdRelaunch"/>);
    /// null for TDX 1.0 bodies and when <see cref="Status"/> is null. Does not change <see cref="Status"/>.
    /// </summary>
    public bool? RelaunchAdvised { get; init; }

    /// <summary>
    /// The status Intel's QVL would report, including <c>TDRelaunchAdvised</c> and
    /// <c>TDRelaunchAdvisedConfigurationNeeded</c>; null when <see cref="Status"/> is null or QVL would report an error.
    /// </summary>
    public string? QvlStatus { get; init; }

    /// <summary>The worst of the three statuses; null when any part has no matching level.</summary>
    public TcbStatus? Status => Platform is null || Qe is null ? null
        : TcbStatuses.Worst(TcbStatuses.Worst(Platform.Status, Module?.Status ?? TcbStatus.UpToDate), Qe.Status);

    /// <summary>Every part's advisories, each once, in ordinal order.</summary>
    public IReadOnlyList<string> AdvisoryIds
    {
        get
        {
            var ids = new List<string>();
            foreach (var verdict in (ReadOnlySpan<TcbVerdict?>)[Platform, Module, Qe])
            {
                foreach (var id in verdict?.AdvisoryIds ?? [])
                {
                    if (!ids.Contains(id))
                    {
                        ids.Add(id);
                    }
                }
            }

            ids.Sort(StringComparer.Ordinal);
            return ids;
        }
    }
}

/// <summary>
/// TCB level matching (Intel DCAP QVL; steps 7, 9, 10 of docs/research/evidence-formats.md §A2.7). Levels are
/// taken in Intel's order (highest first) and the first one the platform meets decides. Values come from the
/// PCK certificate (SGX components, PCE SVN, FMSPC, PCE-ID) and from the signed quote (TEE_TCB_SVN, QE report).
/// </summary>
public static class TcbEvaluation
{
    public static TcbEvaluationResult Evaluate(TdxQuote quote, PckExtensions pck, TcbInfo tcbInfo, QeIdentity qe, List<VerificationFailure> failures)
    {
        if (!pck.Fmspc.Span.SequenceEqual(tcbInfo.Fmspc.Span))
        {
            failures.Add(new("tcb_info.fmspc", Hex.Lower(pck.Fmspc.Span), Hex.Lower(tcbInfo.Fmspc.Span)));
        }

        if (!pck.PceId.Span.SequenceEqual(tcbInfo.PceId.Span))
        {
            failures.Add(new("tcb_info.pce_id", Hex.Lower(pck.PceId.Span), Hex.Lower(tcbInfo.PceId.Span)));
        }

        var qeVerdict = Qe(quote.QeReport, qe, failures);
        var module = Module(quote.Body, tcbInfo, failures);
        var platform = Platform(quote.Body, pck, tcbInfo);
        if (platform is null)
        {
            failures.Add(new("tcb.platform", "a TCB level the platform meets", "no matching TCB level"));
        }

        var result = new TcbEvaluationResult(platform, module, qeVerdict);
        if (result.Status == TcbStatus.Revoked)
        {
            failures.Add(new("tcb.status", "not Revoked", $"Revoked (platform {platform?.Status}, TDX module {module?.Status.ToString() ?? "-"}, QE {qeVerdict?.Status})"));
        }

        return TdRelaunch.Apply(quote.Body, pck, tcbInfo, result, failures);
    }

    /// <summary>
    /// The first level where every PCK SGX component ≥ the level's, PCE SVN ≥, and every TEE_TCB_SVN byte ≥ the
    /// level's TDX component. When the module has its own identity (TEE_TCB_SVN[1] &gt; 0), bytes 0 and 1 are the
    /// module's SVN and version, graded by the module identity instead, so they are skipped here as Intel's QVL does.
    /// </summary>
    public static TcbVerdict? Platform(TdxQuoteBody body, PckExtensions pck, TcbInfo tcbInfo)
    {
        var tee = body.TeeTcbSvn.Span;
        var first = tee[1] > 0 && tcbInfo.TdxModuleIdentities.Count > 0 ? 2 : 0;
        foreach (var level in tcbInfo.TcbLevels)
        {
            if (!MeetsSgx(pck, level))
            {
                continue;
            }

            if (level.TdxComponents is { } tdx)
            {
                var tdxOk = true;
                for (var i = first; i < 16 && tdxOk; i++)
                {
                    tdxOk = tee[i] >= tdx[i];
                }

                if (!tdxOk)
                {
                    continue;
                }
            }

            return level.Verdict;
        }

        return null;
    }

    /// <summary>Whether the PCK's PCE SVN and all 16 SGX component SVNs meet the level's.</summary>
    internal static bool MeetsSgx(PckExtensions pck, PlatformTcbLevel level)
    {
        if (pck.PceSvn < level.PceSvn)
        {
            return false;
        }

        for (var i = 0; i < 16; i++)
        {
            if (pck.SgxTcbComponents[i] < level.SgxComponents[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The module identity "TDX_nn" for a module major version, as Intel's QVL finds it (findTdxModuleIdentity); null when there is none.</summary>
    internal static TdxModuleIdentity? ModuleIdentity(TcbInfo tcbInfo, byte version)
    {
        foreach (var m in tcbInfo.TdxModuleIdentities)
        {
            if (IsModuleId(m.Id, version))
            {
                return m;
            }
        }

        return null;
    }

    private static TcbVerdict? Module(TdxQuoteBody body, TcbInfo tcbInfo, List<VerificationFailure> failures)
    {
        var version = body.TeeTcbSvn.Span[1];
        TdxModuleIdentity? identity = tcbInfo.TdxModule;
        if (version > 0 && tcbInfo.TdxModuleIdentities.Count > 0)
        {
            identity = ModuleIdentity(tcbInfo, version);
            if (identity is null)
            {
                failures.Add(new("tdx_module.identity", $"a TCB Info module identity TDX_{version:X2}", "none"));
                return null;
            }
        }

        if (identity is null)
        {
            return null;
        }

        if (!identity.MrSigner.Span.SequenceEqual(body.MrSignerSeam.Span))
        {
            failures.Add(new("tdx_module.mrsigner", Hex.Lower(identity.MrSigner.Span), Hex.Lower(body.MrSignerSeam.Span)));
        }

        if (!Masked(body.SeamAttributes.Span, identity.AttributesMask.Span, identity.Attributes.Span))
        {
            failures.Add(new("tdx_module.attributes", $"{Hex.Lower(identity.Attributes.Span)} under mask {Hex.Lower(identity.AttributesMask.Span)}", Hex.Lower(body.SeamAttributes.Span)));
        }

        if (identity.TcbLevels.Count == 0)
        {
            return null;
        }

        var svn = body.TeeTcbSvn.Span[0];
        var level = FirstAtOrBelow(identity.TcbLevels, svn);
        if (level is null)
        {
            failures.Add(new("tcb.tdx_module", $"a {identity.Id} TCB level at or below SVN {svn}", "no matching TCB level"));
        }

        return level?.Verdict;
    }

    private static TcbVerdict? Qe(QeReport report, QeIdentity qe, List<VerificationFailure> failures)
    {
        if ((report.MiscSelect & qe.MiscSelectMask) != qe.MiscSelect)
        {
            failures.Add(new("qe_identity.miscselect", $"{qe.MiscSelect:x8} under mask {qe.MiscSelectMask:x8}", $"{report.MiscSelect:x8}"));
        }

        if (!Masked(report.Attributes.Span, qe.AttributesMask.Span, qe.Attributes.Span))
        {
            failures.Add(new("qe_identity.attributes", $"{Hex.Lower(qe.Attributes.Span)} under mask {Hex.Lower(qe.AttributesMask.Span)}", Hex.Lower(report.Attributes.Span)));
        }

        if (!report.MrSigner.Span.SequenceEqual(qe.MrSigner.Span))
        {
            failures.Add(new("qe_identity.mrsigner", Hex.Lower(qe.MrSigner.Span), Hex.Lower(report.MrSigner.Span)));
        }

        if (report.IsvProdId != qe.IsvProdId)
        {
            failures.Add(new("qe_identity.isvprodid", qe.IsvProdId.ToString(), report.IsvProdId.ToString()));
        }

        var level = FirstAtOrBelow(qe.TcbLevels, report.IsvSvn);
        if (level is null)
        {
            failures.Add(new("tcb.qe", $"a QE Identity TCB level at or below ISV SVN {report.IsvSvn}", "no matching TCB level"));
        }

        return level?.Verdict;
    }

    /// <summary>The first level (Intel's order, highest first) whose ISV SVN the given SVN meets.</summary>
    private static IsvSvnTcbLevel? FirstAtOrBelow(IReadOnlyList<IsvSvnTcbLevel> levels, int svn)
    {
        foreach (var level in levels)
        {
            if (svn >= level.IsvSvn)
            {
                return level;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="id"/> is "TDX_" and the version as two hex digits, ignoring case, as Intel's QVL compares it.</summary>
    private static bool IsModuleId(string? id, byte version) =>
        id is { Length: 6 } && id.StartsWith("TDX_", StringComparison.OrdinalIgnoreCase)
        && char.IsAsciiHexDigit(id[4]) && char.IsAsciiHexDigit(id[5])
        && ((HexValue(id[4]) << 4) | HexValue(id[5])) == version;

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static bool Masked(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> mask, ReadOnlySpan<byte> expected)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            if ((actual[i] & mask[i]) != expected[i])
            {
                return false;
            }
        }

        return true;
    }
}
