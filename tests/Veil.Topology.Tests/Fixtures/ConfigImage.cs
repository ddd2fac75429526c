using System.Buffers.Binary;

namespace Veil.Topology.Tests.Fixtures;

/// <summary>
/// Writes a binary config space the way the hardware presents it: type 0/1 header, BAR registers matching the
/// assigned addresses, a standard capability chain (PM at 0x40 → PCI Express at 0x60) and an extended chain
/// from 0x100 (AER, then ACS on ports, SR-IOV on PFs, ATS; CX7 keeps ATS at 0x480 as in nccl-tests#256).
/// </summary>
internal static class ConfigImage
{
    public static byte[] Build(FixtureDevice d, int? secondary, int? subordinate, IReadOnlyDictionary<int, ulong> barAddresses)
    {
        var c = new byte[d.Conventional ? 256 : 4096];
        W16(c, 0x00, d.Vendor);
        W16(c, 0x02, d.DeviceId);
        W16(c, 0x04, 0x0006); // memory space + bus master
        W16(c, 0x06, 0x0010); // capability list present
        c[0x08] = 0x01;
        c[0x09] = (byte)d.Class;
        c[0x0A] = (byte)(d.Class >> 8);
        c[0x0B] = (byte)(d.Class >> 16);
        c[0x0E] = (byte)(d.IsBridge ? 1 : 0);
        if (d.IsBridge)
        {
            c[0x18] = (byte)d.Address.Bus;
            c[0x19] = (byte)(secondary ?? 0);
            c[0x1A] = (byte)(subordinate ?? 0);
        }
        else
        {
            foreach (var bar in d.Bars)
            {
                var addr = barAddresses[bar.Index];
                var low = (uint)(addr & 0xFFFFFFF0) | (bar.Io ? 1u : 0u) | (bar.Is64 ? 0x4u : 0u) | (bar.Prefetch ? 0x8u : 0u);
                W32(c, 0x10 + (4 * bar.Index), low);
                if (bar.Is64)
                {
                    W32(c, 0x10 + (4 * (bar.Index + 1)), (uint)(addr >> 32));
                }
            }

            W16(c, 0x2C, d.SubVendor);
            W16(c, 0x2E, d.SubDevice);
            c[0x3D] = 1; // INTA
        }

        if (d.Conventional)
        {
            W16(c, 0x06, 0); // no capabilities
            return c;
        }

        c[0x34] = 0x40;
        c[0x40] = 0x01; // power management
        c[0x41] = 0x60;
        W16(c, 0x42, 0x0003);
        c[0x60] = 0x10; // PCI Express
        c[0x61] = 0x00;
        var slot = d.Kind is "rp" or "dsp" ? 0x0100 : 0;
        W16(c, 0x62, (ushort)(0x0002 | (d.PortTypeCode << 4) | slot));
        W32(c, 0x64, 0x00008FE2); // DevCap: 512-byte payload, RBE, FLR-capable bits
        W32(c, 0x6C, (uint)(d.LinkSpeed | (d.LinkWidth << 4) | (d.Address.Device << 24)));
        W16(c, 0x72, (ushort)(d.LinkSpeed | (d.LinkWidth << 4)));

        var ext = new List<(int Offset, ushort Id, byte Ver, Action<byte[], int> Body)>
        {
            (0x100, 0x0001, 2, (_, _) => { }),
        };
        if (d.AcsControl is { } acs && d.Kind is "rp" or "dsp")
        {
            var cap = d.Kind == "rp" ? (ushort)0x1F : (ushort)0x5F;
            ext.Add((0x148, 0x000D, 1, (b, o) => { W16(b, o + 4, cap); W16(b, o + 6, acs); }));
        }

        if (d.Vfs > 0)
        {
            ext.Add((0x180, 0x0010, 1, (b, o) =>
            {
                W16(b, o + 0x08, 0x0019); // VF Enable, VF MSE, ARI capable hierarchy
                W16(b, o + 0x0C, (ushort)d.Vfs);
                W16(b, o + 0x0E, (ushort)d.Vfs);
                W16(b, o + 0x10, (ushort)d.Vfs);
                W16(b, o + 0x14, 2); // first VF offset
                W16(b, o + 0x16, 1); // VF stride
                W16(b, o + 0x1A, 0x101E);
            }));
        }

        if (d.Ats is { } ats)
        {
            var at = d.Kind is "nic" or "vf" ? 0x480 : 0x1C0;
            ext.Add((at, 0x000F, 1, (b, o) => { W16(b, o + 4, 0x0020); W16(b, o + 6, (ushort)(ats == "on" ? 0x8000 : 0)); }));
        }

        for (var i = 0; i < ext.Count; i++)
        {
            var (off, id, ver, body) = ext[i];
            var next = i + 1 < ext.Count ? ext[i + 1].Offset : 0;
            W32(c, off, (uint)(id | (ver << 16) | (next << 20)));
            body(c, off);
        }

        return c;
    }

    private static void W16(byte[] b, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);

    private static void W32(byte[] b, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
}
