using System.Buffers.Binary;

namespace Veil.Measure.Snp;

/// <summary>
/// The initial VMSA (SEV-ES save area, AMD APM vol. 2 table B-4) of a vCPU as KVM and the VMM build it
/// at reset. Only the fields the VMM sets are non-zero; offsets are those of the save-area layout.
/// </summary>
internal static class VmsaPage
{
    public const uint BspEip = 0xFFFF_FFF0;

    private const int Es = 0x000, Cs = 0x010, Ss = 0x020, Ds = 0x030, Fs = 0x040, Gs = 0x050;
    private const int Gdtr = 0x060, Ldtr = 0x070, Idtr = 0x080, Tr = 0x090;
    private const int Efer = 0x0D0, Cr4 = 0x148, Cr0 = 0x158, Dr7 = 0x160, Dr6 = 0x168, Rflags = 0x170, Rip = 0x178;
    private const int GPat = 0x268, Rdx = 0x310, SevFeatures = 0x3B0, Xcr0 = 0x3E8, Mxcsr = 0x408, X87Fcw = 0x410;

    public static byte[] Build(uint eip, ulong sevFeatures, uint vcpuSignature, VmmType vmm)
    {
        ushort csFlags = 0x9B, ssFlags = 0x93, trFlags = 0x8B;
        ulong rdx = vcpuSignature, gPat = 0x0007_0406_0007_0406;
        uint mxcsr = 0x1F80;
        ushort fcw = 0x37F;
        switch (vmm)
        {
            case VmmType.Qemu:
                break;
            case VmmType.Ec2:
                // EC2 marks the BSP's code segment not-accessed, reports a fixed RDX and leaves FPU state zero.
                csFlags = eip == BspEip ? (ushort)0x9A : (ushort)0x9B;
                ssFlags = 0x92;
                trFlags = 0x83;
                rdx = 0x600;
                mxcsr = 0;
                fcw = 0;
                break;
            case VmmType.Gce:
                // GCE reports a fixed signature in RDX and its own PAT default.
                rdx = 0x600;
                gPat = 0x0007_0106;
                mxcsr = 0;
                fcw = 0;
                break;
            default:
                throw new MeasureException("--vmm-type", $"unknown VMM type {vmm}");
        }

        var page = new byte[GuestContext.PageSize];
        var p = page.AsSpan();
        Segment(p, Es, 0, 0x93, 0xFFFF, 0);
        Segment(p, Cs, 0xF000, csFlags, 0xFFFF, eip & 0xFFFF_0000);
        Segment(p, Ss, 0, ssFlags, 0xFFFF, 0);
        Segment(p, Ds, 0, 0x93, 0xFFFF, 0);
        Segment(p, Fs, 0, 0x93, 0xFFFF, 0);
        Segment(p, Gs, 0, 0x93, 0xFFFF, 0);
        Segment(p, Gdtr, 0, 0, 0xFFFF, 0);
        Segment(p, Idtr, 0, 0, 0xFFFF, 0);
        Segment(p, Ldtr, 0, 0x82, 0xFFFF, 0);
        Segment(p, Tr, 0, trFlags, 0xFFFF, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[Efer..], 0x1000); // KVM sets EFER.SVME
        BinaryPrimitives.WriteUInt64LittleEndian(p[Cr4..], 0x40); // KVM sets CR4.MCE
        BinaryPrimitives.WriteUInt64LittleEndian(p[Cr0..], 0x10);
        BinaryPrimitives.WriteUInt64LittleEndian(p[Dr7..], 0x400);
        BinaryPrimitives.WriteUInt64LittleEndian(p[Dr6..], 0xFFFF_0FF0);
        BinaryPrimitives.WriteUInt64LittleEndian(p[Rflags..], 0x2);
        BinaryPrimitives.WriteUInt64LittleEndian(p[Rip..], eip & 0xFFFF);
        BinaryPrimitives.WriteUInt64LittleEndian(p[GPat..], gPat);
        BinaryPrimitives.WriteUInt64LittleEndian(p[Rdx..], rdx);
        BinaryPrimitives.WriteUInt64LittleEndian(p[SevFeatures..], sevFeatures);
        BinaryPrimitives.WriteUInt64LittleEndian(p[Xcr0..], 0x1);
        BinaryPrimitives.WriteUInt32LittleEndian(p[Mxcsr..], mxcsr);
        BinaryPrimitives.WriteUInt16LittleEndian(p[X87Fcw..], fcw);
        return page;
    }

    private static void Segment(Span<byte> p, int at, ushort selector, ushort attrib, uint limit, ulong baseAddress)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(p[at..], selector);
        BinaryPrimitives.WriteUInt16LittleEndian(p[(at + 2)..], attrib);
        BinaryPrimitives.WriteUInt32LittleEndian(p[(at + 4)..], limit);
        BinaryPrimitives.WriteUInt64LittleEndian(p[(at + 8)..], baseAddress);
    }
}
