using System.Buffers.Binary;

namespace Veil.Topology.ConfigSpace;

/// <summary>
/// Walks the standard (0x34) and extended (0x100) capability chains of a config space image. Hand-written
/// because no available library reads PCI config space; every offset is bounds-checked and every chain is
/// loop-guarded, since sysfs can hand us a truncated or corrupt image.
/// </summary>
internal static class ConfigSpaceParser
{
    private const int CapPciExpress = 0x10;
    private const int ExtCapAcs = 0x000D;
    private const int ExtCapAts = 0x000F;
    private const int ExtCapSriov = 0x0010;

    public static ConfigSpaceInfo Parse(ReadOnlySpan<byte> config)
    {
        var problems = new List<string>();
        if (config.Length < 64)
        {
            return new ConfigSpaceInfo { Length = config.Length, HeaderType = -1, Problems = [$"config space is {config.Length} bytes, the header alone needs 64"] };
        }

        var header = config[0x0E] & 0x7F;
        var info = new ConfigSpaceInfo
        {
            Length = config.Length,
            HeaderType = header,
            SecondaryBus = header == 1 ? config[0x19] : null,
            SubordinateBus = header == 1 ? config[0x1A] : null,
        };

        var status = BinaryPrimitives.ReadUInt16LittleEndian(config[0x06..]);
        if ((status & 0x10) != 0)
        {
            info = ReadStandardCapabilities(config, info, problems);
        }

        if (config.Length > 256 && info.PortType is not null)
        {
            info = ReadExtendedCapabilities(config, info, problems);
        }

        return info with { Problems = problems };
    }

    private static ConfigSpaceInfo ReadStandardCapabilities(ReadOnlySpan<byte> config, ConfigSpaceInfo info, List<string> problems)
    {
        var limit = Math.Min(config.Length, 256);
        var seen = new HashSet<int>();
        var pos = config[0x34] & 0xFC;
        while (pos != 0)
        {
            if (pos < 0x40 || pos + 2 > limit)
            {
                problems.Add($"capability pointer 0x{pos:x2} is outside the config space");
                break;
            }

            if (!seen.Add(pos))
            {
                problems.Add($"capability list loops back to 0x{pos:x2}");
                break;
            }

            if (config[pos] == CapPciExpress)
            {
                if (pos + 0x14 > limit)
                {
                    problems.Add($"PCI Express capability at 0x{pos:x2} is truncated");
                }
                else
                {
                    var flags = BinaryPrimitives.ReadUInt16LittleEndian(config[(pos + 2)..]);
                    var lnkcap = BinaryPrimitives.ReadUInt32LittleEndian(config[(pos + 0x0C)..]);
                    var lnksta = BinaryPrimitives.ReadUInt16LittleEndian(config[(pos + 0x12)..]);
                    info = info with
                    {
                        PortType = (PciePortType)((flags >> 4) & 0xF),
                        LinkCapSpeed = (int)(lnkcap & 0xF),
                        LinkCapWidth = (int)((lnkcap >> 4) & 0x3F),
                        LinkSpeed = lnksta & 0xF,
                        LinkWidth = (lnksta >> 4) & 0x3F,
                    };
                }
            }

            pos = config[pos + 1] & 0xFC;
        }

        return info;
    }

    private static ConfigSpaceInfo ReadExtendedCapabilities(ReadOnlySpan<byte> config, ConfigSpaceInfo info, List<string> problems)
    {
        var seen = new HashSet<int>();
        var pos = 0x100;
        while (pos != 0)
        {
            if (pos < 0x100 || pos + 4 > config.Length)
            {
                problems.Add($"extended capability at 0x{pos:x3} is outside the config space ({config.Length} bytes)");
                break;
            }

            if (!seen.Add(pos))
            {
                problems.Add($"extended capability list loops back to 0x{pos:x3}");
                break;
            }

            var head = BinaryPrimitives.ReadUInt32LittleEndian(config[pos..]);
            if (head == 0 || head == 0xFFFFFFFF)
            {
                break;
            }

            var id = (int)(head & 0xFFFF);
            var body = pos + 8 <= config.Length;
            switch (id)
            {
                case ExtCapAcs when body:
                    info = info with { Acs = new AcsCapability(pos, U16(config, pos + 4), U16(config, pos + 6)) };
                    break;
                case ExtCapAts when body:
                    info = info with { Ats = new AtsCapability(pos, U16(config, pos + 4), U16(config, pos + 6)) };
                    break;
                case ExtCapSriov when pos + 0x12 <= config.Length:
                    info = info with { Sriov = new SriovCapability(pos, U16(config, pos + 0x0E), U16(config, pos + 0x10)) };
                    break;
                case ExtCapAcs or ExtCapAts or ExtCapSriov:
                    problems.Add($"extended capability 0x{id:x4} at 0x{pos:x3} is truncated");
                    break;
                default:
                    break;
            }

            pos = (int)(head >> 20) & 0xFFC;
        }

        return info;
    }

    private static ushort U16(ReadOnlySpan<byte> config, int at) => BinaryPrimitives.ReadUInt16LittleEndian(config[at..]);
}
