using System.Text.Json;

namespace Veil.Tests.Shared;

/// <summary>
/// Real collateral from the vectors laid out the way the broker's offline collateral directories expect it, in a
/// folder the caller owns (the vectors themselves are read in place, never copied into the repository).
/// </summary>
internal static class CollateralLayouts
{
    /// <summary>dcap-qvl's single-file collateral as the PCS bodies the broker reads (inner JSON kept byte for byte).</summary>
    public static string DcapTdxCollateral(string dir)
    {
        using var c = JsonDocument.Parse(Vectors.Bytes("dcap-qvl", "sample", "tdx_quote_collateral.json"));
        string S(string name) => c.RootElement.GetProperty(name).GetString()!;
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tcb_info.json"), "{\"tcbInfo\":" + S("tcb_info") + ",\"signature\":\"" + S("tcb_info_signature") + "\"}");
        File.WriteAllText(Path.Combine(dir, "qe_identity.json"), "{\"enclaveIdentity\":" + S("qe_identity") + ",\"signature\":\"" + S("qe_identity_signature") + "\"}");
        File.WriteAllText(Path.Combine(dir, "pck_crl.der"), S("pck_crl"));
        File.WriteAllText(Path.Combine(dir, "root_ca_crl.der"), S("root_ca_crl"));
        File.WriteAllText(Path.Combine(dir, "tcb_info_issuer_chain.pem"), S("tcb_info_issuer_chain"));
        File.WriteAllText(Path.Combine(dir, "qe_identity_issuer_chain.pem"), S("qe_identity_issuer_chain"));
        File.WriteAllText(Path.Combine(dir, "pck_crl_issuer_chain.pem"), S("pck_crl_issuer_chain"));
        return dir;
    }

    /// <summary>nvtrust's two test_no_gpu RIMs under the ids the verifier asks for (driver 545.00, VBIOS 96.00.5E.00.01).</summary>
    public static string HistoryH100Rims(string dir)
    {
        Directory.CreateDirectory(Path.Combine(dir, "rims"));
        File.Copy(Vectors.Path("nvtrust", "local_gpu_verifier-samples", "Driver_RIM_test_no_gpu.swidtag"), Path.Combine(dir, "rims", "NV_GPU_DRIVER_GH100_545.00.xml"));
        File.Copy(Vectors.Path("nvtrust", "local_gpu_verifier-samples", "1010_0200_882_96005E0001_test_no_gpu.swidtag"), Path.Combine(dir, "rims", "NV_GPU_VBIOS_1010_0200_882_96005E0001.xml"));
        return dir;
    }
}
