using Veil.Attestation.EventLog;
using Veil.Attestation.Tdx.Parsing;
using Veil.Attestation.Tdx.IntelCollateral;
using Veil.Attestation.Tdx.Checks;

namespace Veil.Attestation.Tdx;

/// <summary>
/// Maps a quote (and what verification learned about it) to Veil's stable claim names, <c>tdx.*</c>:
/// measurement registers and report data as lowercase hex, TD attributes decoded by name
/// (<c>tdx.td_attributes.debug</c>, …), the platform's FMSPC and PCE-ID from the PCK certificate, and the TCB
/// grading (<c>tdx.tcb_status</c>, <c>tdx.advisory_ids</c>, the per-part statuses it combines, and Intel QVL's view:
/// <c>tdx.tcb.qvl_status</c> and, for TDX 1.5, <c>tdx.tcb.relaunch_advised</c>).
/// </summary>
public static class TdxClaims
{
    public static Dictionary<string, object> From(TdxQuote q, PckExtensions? pck, TcbEvaluationResult? tcb, RtmrReplay? eventLog)
    {
        var b = q.Body;
        // Sized for every claim up front: growing the table rehashes it several times per quote.
        var c = new Dictionary<string, object>(64, StringComparer.Ordinal)
        {
            ["tdx.version"] = (long)q.Version,
            ["tdx.body_type"] = b.BodyType == TdxQuoteBody.TypeTdx15 ? "tdx1.5" : "tdx1.0",
            ["tdx.tee_tcb_svn"] = Hex.Lower(b.TeeTcbSvn.Span),
            ["tdx.mr_seam"] = Hex.Lower(b.MrSeam.Span),
            ["tdx.mr_signer_seam"] = Hex.Lower(b.MrSignerSeam.Span),
            ["tdx.seam_attributes"] = Hex.Lower(b.SeamAttributes.Span),
            ["tdx.td_attributes"] = b.TdAttributes.Hex(),
            ["tdx.td_attributes.debug"] = Box(b.TdAttributes.Debug),
            ["tdx.td_attributes.sept_ve_disable"] = Box(b.TdAttributes.SeptVeDisable),
            ["tdx.td_attributes.migratable"] = Box(b.TdAttributes.Migratable),
            ["tdx.td_attributes.pks"] = Box(b.TdAttributes.Pks),
            ["tdx.td_attributes.key_locker"] = Box(b.TdAttributes.KeyLocker),
            ["tdx.td_attributes.perfmon"] = Box(b.TdAttributes.PerfMon),
            ["tdx.td_attributes.other_bits"] = $"0x{b.TdAttributes.Other:x16}",
            ["tdx.xfam"] = $"0x{b.Xfam:x16}",
            ["tdx.mr_td"] = Hex.Lower(b.MrTd.Span),
            ["tdx.mr_config_id"] = Hex.Lower(b.MrConfigId.Span),
            ["tdx.mr_owner"] = Hex.Lower(b.MrOwner.Span),
            ["tdx.mr_owner_config"] = Hex.Lower(b.MrOwnerConfig.Span),
            ["tdx.rtmr0"] = Hex.Lower(b.Rtmrs[0].Span),
            ["tdx.rtmr1"] = Hex.Lower(b.Rtmrs[1].Span),
            ["tdx.rtmr2"] = Hex.Lower(b.Rtmrs[2].Span),
            ["tdx.rtmr3"] = Hex.Lower(b.Rtmrs[3].Span),
            ["tdx.report_data"] = Hex.Lower(b.ReportData.Span),
            ["tdx.qe.isv_svn"] = (long)q.QeReport.IsvSvn,
        };

        if (b.TeeTcbSvn2 is { } svn2 && b.MrServiceTd is { } serviceTd)
        {
            c["tdx.tee_tcb_svn2"] = Hex.Lower(svn2.Span);
            c["tdx.mr_servicetd"] = Hex.Lower(serviceTd.Span);
        }

        if (pck is not null)
        {
            c["tdx.fmspc"] = Hex.Lower(pck.Fmspc.Span);
            c["tdx.pce_id"] = Hex.Lower(pck.PceId.Span);
            c["tdx.pce_svn"] = (long)pck.PceSvn;
        }

        if (tcb is not null)
        {
            // Each part is reported even when another has no matching level, so a failure can be explained.
            if (tcb.Status is { } status)
            {
                c["tdx.tcb_status"] = TcbStatuses.Name(status);
                c["tdx.advisory_ids"] = tcb.AdvisoryIds;
            }

            if (tcb.RelaunchAdvised is { } relaunch)
            {
                c["tdx.tcb.relaunch_advised"] = Box(relaunch);
            }

            if (tcb.QvlStatus is { } qvl)
            {
                c["tdx.tcb.qvl_status"] = qvl;
            }

            if (tcb.Platform is { } platform)
            {
                c["tdx.tcb.platform_status"] = TcbStatuses.Name(platform.Status);
                c["tdx.tcb.platform_date"] = Iso8601(platform.TcbDate);
            }

            if (tcb.Module is { } module)
            {
                c["tdx.tcb.module_status"] = TcbStatuses.Name(module.Status);
            }

            if (tcb.Qe is { } qe)
            {
                c["tdx.tcb.qe_status"] = TcbStatuses.Name(qe.Status);
            }
        }

        if (eventLog is not null)
        {
            c["tdx.event_log.count"] = (long)eventLog.Events.Count;
            c["tdx.event_log.events"] = eventLog.EventLines();
        }

        return c;
    }

    /// <summary>yyyy-MM-ddTHH:mm:ssZ through the sortable format's fast path instead of a custom pattern.</summary>
    private static string Iso8601(DateTimeOffset t) => string.Create(20, t.UtcDateTime, static (span, utc) =>
    {
        utc.TryFormat(span, out _, "s", System.Globalization.CultureInfo.InvariantCulture);
        span[19] = 'Z';
    });

    private static readonly object True = true;
    private static readonly object False = false;

    private static object Box(bool value) => value ? True : False;
}
