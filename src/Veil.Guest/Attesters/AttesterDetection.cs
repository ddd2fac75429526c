using Veil.Abi.Tee;

namespace Veil.Guest;

/// <summary>Which CPU attester this VM offers. configfs-tsm is preferred: it is the kernel's common ABI since 6.7.</summary>
public static class AttesterDetection
{
    /// <param name="tee">auto, configfs-tsm or sev-guest (from <c>--tee</c>).</param>
    public static ICpuAttester Detect(string tee = "auto", string tsmRoot = ConfigFsTsmAttester.DefaultRoot, string sevGuestPath = LinuxSevGuestDevice.DefaultPath)
    {
        switch (tee)
        {
            case "configfs-tsm":
                return new ConfigFsTsmAttester(tsmRoot);
            case "sev-guest":
                return new SevGuestAttester(new LinuxSevGuestDevice(sevGuestPath));
            case "auto":
                if (ConfigFsTsmAttester.IsPresent(tsmRoot))
                {
                    return new ConfigFsTsmAttester(tsmRoot);
                }

                if (LinuxSevGuestDevice.IsPresent(sevGuestPath))
                {
                    return new SevGuestAttester(new LinuxSevGuestDevice(sevGuestPath));
                }

                throw new AttesterException("detect", $"no CPU attester: neither {tsmRoot} nor {sevGuestPath} exists (not a confidential VM?)");
            default:
                throw new AttesterException("detect", $"tee '{tee}' is not one of auto, configfs-tsm, sev-guest");
        }
    }

    /// <summary>
    /// The evidence for <c>veil unseal --tee</c>: sample; snp from configfs-tsm or /dev/sev-guest; tdx from
    /// configfs-tsm (the only TDX quote path here); auto asks configfs-tsm which provider it has, else /dev/sev-guest.
    /// </summary>
    public static IEvidenceProvider Evidence(string tee, string tsmRoot = ConfigFsTsmAttester.DefaultRoot, string sevGuestPath = LinuxSevGuestDevice.DefaultPath,
        string ccelPath = TdxEvidenceProvider.DefaultCcelPath) => Evidence(tee, tsmRoot, sevGuestPath, ccelPath, null);

    /// <param name="entryName">configfs-tsm entry name (tests: the one a pre-laid-out fake serves).</param>
    internal static IEvidenceProvider Evidence(string tee, string tsmRoot, string sevGuestPath, string ccelPath, Func<string>? entryName)
    {
        switch (tee)
        {
            case TeeNames.Sample:
                return new SampleEvidenceProvider();
            case TeeNames.Snp:
                return new SnpEvidenceProvider(ConfigFsTsmAttester.IsPresent(tsmRoot) ? new ConfigFsTsmAttester(tsmRoot, entryName: entryName) : Detect("auto", tsmRoot, sevGuestPath));
            case TeeNames.Tdx:
                if (!ConfigFsTsmAttester.IsPresent(tsmRoot))
                {
                    throw new AttesterException("configfs-tsm", $"{tsmRoot}: not present; TDX quotes come from configfs-tsm (Linux ≥ 6.7 with CONFIG_TSM_REPORTS)");
                }

                return new TdxEvidenceProvider(new ConfigFsTsmAttester(tsmRoot, entryName: entryName), ccelPath);
            case "auto":
                if (!ConfigFsTsmAttester.IsPresent(tsmRoot))
                {
                    return new SnpEvidenceProvider(Detect("auto", tsmRoot, sevGuestPath));
                }

                var tsm = new ConfigFsTsmAttester(tsmRoot, entryName: entryName);
                return tsm.Provider() switch
                {
                    "sev_guest" => new SnpEvidenceProvider(tsm),
                    "tdx_guest" => new TdxEvidenceProvider(tsm, ccelPath),
                    var p => throw new AttesterException("configfs-tsm", $"provider: '{p}' is not supported (sev_guest, tdx_guest)"),
                };
            case TeeNames.AzSnpVtpm or TeeNames.AzTdxVtpm:
                return new AzureVtpmEvidenceProvider(tee, new AzureVtpmAttester(new TpmDevice(), new AzureImds(new HttpClient { Timeout = TimeSpan.FromSeconds(30) })));
            default:
                throw new AttesterException("detect", $"tee '{tee}' is not one of auto, sample, snp, tdx, az-snp-vtpm, az-tdx-vtpm");
        }
    }
}
