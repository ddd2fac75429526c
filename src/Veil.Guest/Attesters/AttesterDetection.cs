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
}
