using System.Security.Cryptography;

namespace Veil.Measure.Snp;

/// <summary>What goes into a launch digest. Kernel and initrd are file contents; null means "not given".</summary>
public sealed record LaunchInputs
{
    public SevMode Mode { get; init; } = SevMode.Snp;

    public required OvmfImage Ovmf { get; init; }

    public int Vcpus { get; init; } = 1;

    /// <summary>CPUID signature of the vCPU model (see <see cref="VcpuTypes"/>); ignored for SEV and GCE.</summary>
    public uint VcpuSignature { get; init; }

    public byte[]? Kernel { get; init; }

    public byte[]? Initrd { get; init; }

    public string? Append { get; init; }

    /// <summary>SEV_FEATURES of the VMSA (0x1 = SNPActive; QEMU's default 0x21 adds DebugSwap).</summary>
    public ulong GuestFeatures { get; init; } = 0x21;

    public VmmType Vmm { get; init; } = VmmType.Qemu;

    /// <summary>
    /// The precomputed digest after the OVMF pages (<see cref="LaunchDigest.OvmfHash"/>), so that the
    /// firmware's contents are not needed — only its footer table and metadata.
    /// </summary>
    public byte[]? OvmfHash { get; init; }
}

/// <summary>
/// Computes the launch measurement an AMD SEV, SEV-ES or SEV-SNP guest will report, from the same
/// artifacts the VMM loads. Reproduces virtee/sev-snp-measure (QEMU, EC2 and GCE variants).
/// </summary>
public static class LaunchDigest
{
    private const uint PageMask = 0xFFF;

    public static byte[] Compute(LaunchInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Vcpus is < 1 or > 4096)
        {
            throw new MeasureException("--vcpus", $"{inputs.Vcpus} is out of range (1..4096)");
        }

        if (inputs.Kernel is null && (inputs.Initrd is not null || inputs.Append is not null))
        {
            throw new MeasureException("--kernel", "--initrd and --append need --kernel");
        }

        return inputs.Mode switch
        {
            SevMode.Snp => Snp(inputs),
            SevMode.SevEs => SevEs(inputs),
            SevMode.Sev => Sev(inputs),
            _ => throw new MeasureException("mode", $"unknown mode {inputs.Mode}"),
        };
    }

    /// <summary>The SNP digest after the OVMF pages only; the seed for <see cref="LaunchInputs.OvmfHash"/>.</summary>
    public static byte[] OvmfHash(OvmfImage ovmf)
    {
        ArgumentNullException.ThrowIfNull(ovmf);
        var gctx = new GuestContext();
        gctx.AddNormalPages(ovmf.Gpa, ovmf.Data.Span);
        return gctx.Digest;
    }

    private static byte[] Snp(LaunchInputs i)
    {
        var ovmf = i.Ovmf;
        GuestContext gctx;
        if (i.OvmfHash is not null)
        {
            gctx = new GuestContext(i.OvmfHash);
        }
        else
        {
            gctx = new GuestContext();
            gctx.AddNormalPages(ovmf.Gpa, ovmf.Data.Span);
        }

        if (i.Kernel is not null && !ovmf.HasSection(OvmfSectionType.SnpKernelHashes))
        {
            throw new MeasureException("--kernel", "Kernel specified but OVMF metadata doesn't include SNP_KERNEL_HASHES section");
        }

        var hashes = i.Kernel is null ? null : SevHashesTable.Build(i.Kernel, i.Initrd ?? [], i.Append);
        foreach (var s in ovmf.Sections)
        {
            switch (s.Type)
            {
                case OvmfSectionType.SnpSecMem when i.Vmm == VmmType.Gce:
                    gctx.AddUnmeasuredPages(s.Gpa, s.Size);
                    break;
                case OvmfSectionType.SnpSecMem or OvmfSectionType.SvsmCaa:
                    gctx.AddZeroPages(s.Gpa, s.Size);
                    break;
                case OvmfSectionType.SnpSecrets:
                    gctx.AddSecretsPage(s.Gpa);
                    break;
                case OvmfSectionType.Cpuid when i.Vmm != VmmType.Ec2:
                    gctx.AddCpuidPage(s.Gpa);
                    break;
                case OvmfSectionType.Cpuid:
                    break; // EC2 adds the CPUID page after all other sections, below.
                case OvmfSectionType.SnpKernelHashes when hashes is not null:
                    var tableGpa = ovmf.SevHashTableGpa;
                    var page = SevHashesTable.BuildPage(hashes, (int)(tableGpa & PageMask));
                    if (s.Size != page.Length)
                    {
                        throw new MeasureException("ovmf.sev_metadata", $"kernel hashes section is {s.Size} bytes, one page expected");
                    }

                    gctx.AddNormalPages(s.Gpa, page);
                    break;
                case OvmfSectionType.SnpKernelHashes:
                    gctx.AddZeroPages(s.Gpa, s.Size);
                    break;
                default:
                    throw new MeasureException("ovmf.sev_metadata", $"unhandled section type {s.Type}");
            }
        }

        if (i.Vmm == VmmType.Ec2)
        {
            foreach (var s in ovmf.Sections.Where(s => s.Type == OvmfSectionType.Cpuid))
            {
                gctx.AddCpuidPage(s.Gpa);
            }
        }

        foreach (var page in VmsaPages(ovmf, i.GuestFeatures, i.VcpuSignature, i.Vmm, i.Vcpus))
        {
            gctx.AddVmsaPage(page);
        }

        return gctx.Digest;
    }

    private static byte[] SevEs(LaunchInputs i)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AddSevPayload(hash, i);
        // SEV-ES VMSAs carry no SEV_FEATURES.
        foreach (var page in VmsaPages(i.Ovmf, 0, i.VcpuSignature, i.Vmm, i.Vcpus))
        {
            hash.AppendData(page);
        }

        return hash.GetHashAndReset();
    }

    private static byte[] Sev(LaunchInputs i)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AddSevPayload(hash, i);
        return hash.GetHashAndReset();
    }

    private static void AddSevPayload(IncrementalHash hash, LaunchInputs i)
    {
        hash.AppendData(i.Ovmf.Data.Span);
        if (i.Kernel is not null)
        {
            if (!i.Ovmf.SupportsKernelHashes)
            {
                throw new MeasureException("--kernel", "Kernel specified but OVMF doesn't support kernel/initrd/cmdline measurement");
            }

            hash.AppendData(SevHashesTable.Build(i.Kernel, i.Initrd ?? [], i.Append));
        }
    }

    private static IEnumerable<byte[]> VmsaPages(OvmfImage ovmf, ulong features, uint signature, VmmType vmm, int vcpus)
    {
        // Read even for one vCPU: an image without an SEV-ES reset block cannot boot SEV-ES/SNP at all.
        var apEip = ovmf.SevEsResetEip;
        var bsp = VmsaPage.Build(VmsaPage.BspEip, features, signature, vmm);
        var ap = apEip != 0 ? VmsaPage.Build(apEip, features, signature, vmm) : bsp;
        for (var n = 0; n < vcpus; n++)
        {
            yield return n == 0 ? bsp : ap;
        }
    }
}
