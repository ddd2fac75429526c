using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;

namespace Veil.Attestation.Tdx.Checks;

/// <summary>
/// Intel QVL's "TD relaunch advised" check for TDX 1.5 quotes (QVL Verifiers/Checks/TDRelaunchCheck.cpp,
/// <c>checkForRelaunch</c>, as called from TcbLevelCheck.cpp). TEE_TCB_SVN is the TCB the TD was launched under;
/// TEE_TCB_SVN2 is the TCB now running, which differs after a TD-preserving TDX module update. When only the
/// launch-time module is out of date and the running one is Intel's latest, the TD need not be distrusted, only
/// relaunched: QVL then reports <c>TDRelaunchAdvised</c> (or <c>…ConfigurationNeeded</c>) instead of OutOfDate.
/// </summary>
/// <remarks>
/// How QVL's inputs map onto ours. QVL's "SGX TCB status" is the status of the first TCB level met by the PCK's
/// SGX components and PCE SVN alone; our platform verdict also requires TEE_TCB_SVN's TDX components, which is
/// QVL's "TDX TCB level", so the SGX status is looked up here separately. QVL's "TDX TCB status" is that TDX level's
/// status merged with the module's by <c>convergeTcbStatusWithTdxModuleStatus</c> (not by severity as our
/// <see cref="TcbEvaluationResult.Status"/>: a ConfigurationNeeded level with an OutOfDate module is
/// OutOfDateConfigurationNeeded there, OutOfDate here). QVL's QE status passes the check only when the QE level is
/// UpToDate: any other level is its ISVSVN_OUT_OF_DATE or _REVOKED, and no level is _NOT_SUPPORTED.
/// Intel's newest QVL (confidential-computing.tee.dcap.qvl, 2025) replaced this rule by grading TEE_TCB_SVN2 as a
/// second, "current" TCB; this class follows the rule of the QVL releases that introduced TDX 1.5 support.
/// </remarks>
public static class TdRelaunch
{
    public const string AdvisedStatus = "TDRelaunchAdvised";
    public const string AdvisedConfigurationNeededStatus = "TDRelaunchAdvisedConfigurationNeeded";

    private enum Outcome
    {
        NotAdvised,
        Advised,
        AdvisedConfigurationNeeded,
        ModuleMismatch,
    }

    /// <summary>
    /// Adds the relaunch outcome (TDX 1.5 bodies) and the status QVL would report to a graded result; the graded
    /// statuses themselves are left as they are.
    /// </summary>
    internal static TcbEvaluationResult Apply(TdxQuoteBody body, PckExtensions pck, TcbInfo tcbInfo, TcbEvaluationResult graded, List<VerificationFailure> failures)
    {
        if (graded is not { Status: not null, Platform: { } tdxLevel, Qe: { } qe })
        {
            return graded;
        }

        // A module version with no module level to grade it is an error in QVL (module mismatch or not
        // supported), reported instead of a status, and it returns before the relaunch check.
        if (body.TeeTcbSvn.Span[1] > 0 && graded.Module is null)
        {
            return graded with { RelaunchAdvised = body.TeeTcbSvn2 is null ? null : false };
        }

        var tdx = ConvergeModule(tdxLevel.Status, graded.Module?.Status);
        if (body.TeeTcbSvn2 is not { } svn2)
        {
            return graded with { QvlStatus = TcbStatuses.Name(ConvergeQe(tdx, qe.Status)) };
        }

        return Check(svn2.Span, pck, tcbInfo, SgxStatus(pck, tcbInfo), tdx, graded.Module?.Status, qe.Status, failures) switch
        {
            // Relaunch is only advised with an UpToDate QE, which QVL's final merge leaves as it is.
            Outcome.Advised => graded with { RelaunchAdvised = true, QvlStatus = AdvisedStatus },
            Outcome.AdvisedConfigurationNeeded => graded with { RelaunchAdvised = true, QvlStatus = AdvisedConfigurationNeededStatus },

            // QVL fails the quote (STATUS_TDX_MODULE_MISMATCH) and reports no TCB status.
            Outcome.ModuleMismatch => graded with { RelaunchAdvised = false },
            _ => graded with { RelaunchAdvised = false, QvlStatus = TcbStatuses.Name(ConvergeQe(tdx, qe.Status)) },
        };
    }

    private static Outcome Check(ReadOnlySpan<byte> svn2, PckExtensions pck, TcbInfo tcbInfo, TcbStatus? sgx, TcbStatus tdx, TcbStatus? module, TcbStatus qe, List<VerificationFailure> failures)
    {
        var applies = qe == TcbStatus.UpToDate
            && sgx is TcbStatus.UpToDate or TcbStatus.SWHardeningNeeded or TcbStatus.ConfigurationNeeded or TcbStatus.ConfigurationAndSWHardeningNeeded
            && tdx is TcbStatus.OutOfDate or TcbStatus.OutOfDateConfigurationNeeded
            && module == TcbStatus.OutOfDate;

        // The parser rejects empty level lists, so QVL's "no level → not supported" branches cannot be reached;
        // a level without TDX components (not TDX TCB Info, already a failure) gives nothing to compare with.
        if (!applies || tcbInfo.TcbLevels[0].TdxComponents is not { } latest)
        {
            return Outcome.NotAdvised;
        }

        // Byte 0 is the running module's SVN, byte 1 its major version, byte 2 the TDX late microcode update.
        int moduleSvn;
        if (svn2[1] == 0)
        {
            moduleSvn = latest[0];
        }
        else if (TcbEvaluation.ModuleIdentity(tcbInfo, svn2[1]) is { } identity)
        {
            moduleSvn = identity.TcbLevels[0].IsvSvn;
        }
        else
        {
            failures.Add(new("tcb.relaunch", $"a TCB Info module identity TDX_{svn2[1]:X2} for TEE_TCB_SVN2 (the running TDX module)", "none"));
            return Outcome.ModuleMismatch;
        }

        if (svn2[0] < moduleSvn || svn2[2] < latest[2])
        {
            return Outcome.NotAdvised;
        }

        return IsConfigurationNeeded(sgx) || IsConfigurationNeeded(tdx) ? Outcome.AdvisedConfigurationNeeded : Outcome.Advised;
    }

    /// <summary>QVL's SGX TCB level: the first one the PCK's SGX components and PCE SVN meet, TDX components aside.</summary>
    private static TcbStatus? SgxStatus(PckExtensions pck, TcbInfo tcbInfo)
    {
        foreach (var level in tcbInfo.TcbLevels)
        {
            if (TcbEvaluation.MeetsSgx(pck, level))
            {
                return level.Verdict.Status;
            }
        }

        return null;
    }

    private static bool IsConfigurationNeeded(TcbStatus? status) =>
        status is TcbStatus.ConfigurationNeeded or TcbStatus.OutOfDateConfigurationNeeded or TcbStatus.ConfigurationAndSWHardeningNeeded;

    /// <summary>QVL's convergeTcbStatusWithTdxModuleStatus; no module level (version 0) counts as QVL's STATUS_OK.</summary>
    internal static TcbStatus ConvergeModule(TcbStatus level, TcbStatus? module) => module switch
    {
        TcbStatus.OutOfDate => level switch
        {
            TcbStatus.UpToDate or TcbStatus.SWHardeningNeeded => TcbStatus.OutOfDate,
            TcbStatus.ConfigurationNeeded or TcbStatus.ConfigurationAndSWHardeningNeeded => TcbStatus.OutOfDateConfigurationNeeded,
            _ => level,
        },
        TcbStatus.Revoked => TcbStatus.Revoked,
        _ => level,
    };

    /// <summary>QVL's convergeTcbStatusWithQeTcbStatus: any QE level but UpToDate is ISVSVN_OUT_OF_DATE there, or _REVOKED.</summary>
    internal static TcbStatus ConvergeQe(TcbStatus tdx, TcbStatus qe) => qe switch
    {
        TcbStatus.UpToDate => tdx,
        TcbStatus.Revoked => TcbStatus.Revoked,
        _ => tdx switch
        {
            TcbStatus.UpToDate or TcbStatus.SWHardeningNeeded => TcbStatus.OutOfDate,
            TcbStatus.ConfigurationNeeded or TcbStatus.ConfigurationAndSWHardeningNeeded => TcbStatus.OutOfDateConfigurationNeeded,
            _ => tdx,
        },
    };
}
