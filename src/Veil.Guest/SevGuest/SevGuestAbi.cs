namespace Veil.Guest;

/// <summary>
/// Layouts from include/uapi/linux/sev-guest.h and the SEV-SNP firmware ABI (MSG_REPORT_RSP), written out
/// because no managed library carries them:
/// <code>
/// struct snp_report_req         { u8 user_data[64]; u32 vmpl; u8 rsvd[28]; }                 // 96 bytes
/// struct snp_ext_report_req     { struct snp_report_req data; u64 certs_address; u32 certs_len; } // 112 with padding
/// struct snp_report_resp        { u8 data[4000]; }                                          // MSG_REPORT_RSP
/// struct snp_guest_request_ioctl{ u8 msg_version; u64 req_data; u64 resp_data; u64 exitinfo2; } // 32 bytes
/// SNP_GET_EXT_REPORT = _IOWR('S', 0x2, struct snp_guest_request_ioctl)
/// MSG_REPORT_RSP: u32 status; u32 report_size; u8 reserved[24]; u8 report[report_size]
/// </code>
/// exitinfo2: low 32 bits firmware error, high 32 bits VMM error (1 = certificate buffer too small, 2 = busy).
/// </summary>
internal static class SevGuestAbi
{
    public const uint SnpGetExtReport = (3u << 30) | (IoctlSize << 16) | ((uint)'S' << 8) | 0x2;
    public const int IoctlSize = 32;
    public const int ReportRequestSize = 96;
    public const int ExtReportRequestSize = 112;
    public const int ReportResponseSize = 4000;
    public const int CertsAddressOffset = 96;
    public const int CertsLengthOffset = 104;
    public const int VmplOffset = 64;

    public const int IoctlMsgVersionOffset = 0;
    public const int IoctlReqDataOffset = 8;
    public const int IoctlRespDataOffset = 16;
    public const int IoctlExitInfo2Offset = 24;

    public const uint VmmErrorInvalidLength = 1;
    public const uint VmmErrorBusy = 2;
    public const int PageSize = 4096;
}
