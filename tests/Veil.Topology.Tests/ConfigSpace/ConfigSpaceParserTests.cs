using System.Buffers.Binary;
using Veil.Topology.ConfigSpace;

namespace Veil.Topology.Tests.ConfigSpace;

public class ConfigSpaceParserTests
{
    private static byte[] Endpoint(int portType = 0)
    {
        var c = new byte[4096];
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x06), 0x0010);
        c[0x34] = 0x40;
        c[0x40] = 0x10;
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x42), (ushort)(2 | (portType << 4)));
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0x4C), 0x105); // 32 GT/s x16
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x52), 0x084); // 16 GT/s x8 negotiated
        return c;
    }

    [Fact]
    public void Reads_port_type_and_link_from_the_pcie_capability()
    {
        var info = ConfigSpaceParser.Parse(Endpoint(6));
        Assert.Equal(PciePortType.SwitchDownstream, info.PortType);
        Assert.Equal((5, 16, 4, 8), (info.LinkCapSpeed, info.LinkCapWidth, info.LinkSpeed, info.LinkWidth));
        Assert.Empty(info.Problems);
    }

    [Fact]
    public void Reads_acs_and_ats_from_the_extended_chain()
    {
        var c = Endpoint(6);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0x100), 0x000D | (1 << 16) | (0x200 << 20));
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x104), 0x5F);
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x106), 0x1D);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0x200), 0x000F | (1 << 16));
        BinaryPrimitives.WriteUInt16LittleEndian(c.AsSpan(0x206), 0x8000);
        var info = ConfigSpaceParser.Parse(c);
        Assert.Equal((ushort)0x1D, info.Acs!.Control);
        Assert.True(info.Acs.RedirectsPeerTraffic);
        Assert.Equal("SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-", AcsCapability.Describe(info.Acs.Control));
        Assert.True(info.Ats!.Enabled);
    }

    [Fact]
    public void Conventional_256_byte_space_has_no_extended_capabilities()
    {
        var info = ConfigSpaceParser.Parse(Endpoint().AsSpan(0, 256));
        Assert.False(info.IsExtended);
        Assert.Null(info.Acs);
        Assert.Equal(PciePortType.Endpoint, info.PortType);
    }

    [Fact]
    public void Capability_pointer_outside_the_space_is_a_problem_not_a_crash()
    {
        var c = Endpoint();
        c[0x41] = 0x20;
        var info = ConfigSpaceParser.Parse(c.AsSpan(0, 256));
        Assert.Contains(info.Problems, p => p.Contains("outside", StringComparison.Ordinal) || p.Contains("truncated", StringComparison.Ordinal));
    }

    [Fact]
    public void Extended_pointer_past_a_truncated_image_is_a_problem()
    {
        var c = Endpoint();
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(0x100), 0x0001u | (1u << 16) | (0xFF0u << 20));
        var info = ConfigSpaceParser.Parse(c.AsSpan(0, 1024));
        Assert.Contains(info.Problems, p => p.Contains("outside", StringComparison.Ordinal));
    }

    [Fact]
    public void Short_images_are_reported()
    {
        Assert.NotEmpty(ConfigSpaceParser.Parse(new byte[10]).Problems);
        Assert.NotEmpty(ConfigSpaceParser.Parse([]).Problems);
    }

    [Fact]
    public void Random_images_of_any_length_never_throw()
    {
        var rng = new Random(8);
        for (var i = 0; i < 3000; i++)
        {
            var buf = new byte[rng.Next(0, 5000)];
            rng.NextBytes(buf);
            if (buf.Length > 0x34 && i % 2 == 0)
            {
                buf[0x06] |= 0x10; // force a capability walk
            }

            var info = ConfigSpaceParser.Parse(buf);
            Assert.Equal(buf.Length, info.Length);
        }
    }
}
