using System.Buffers.Binary;
using System.Text;

namespace Veil.Attestation.EventLog;

/// <summary>One digest of an event: TPM_ALG_ID and the digest bytes.</summary>
public sealed record TcgDigest(ushort AlgorithmId, ReadOnlyMemory<byte> Value)
{
    public const ushort Sha1 = 0x0004;
    public const ushort Sha256 = 0x000B;
    public const ushort Sha384 = 0x000C;
    public const ushort Sha512 = 0x000D;
}

/// <summary>
/// One TCG_PCR_EVENT2 record. <see cref="MrIndex"/> is the register field as stored: for a TDX CC event log
/// (UEFI spec "CC_EVENT", CCEL ACPI table) 0 = MRTD, 1–4 = RTMR0–3; for a TPM log it is the PCR index.
/// </summary>
public sealed record TcgEvent(int Position, uint MrIndex, uint EventType, IReadOnlyList<TcgDigest> Digests, ReadOnlyMemory<byte> Data)
{
    public string TypeName => TcgEventTypes.Name(EventType);

    public string Description => TcgEventTypes.Describe(EventType, Data.Span);

    public ReadOnlyMemory<byte>? Digest(ushort algorithm) => Digests.FirstOrDefault(d => d.AlgorithmId == algorithm)?.Value;
}

/// <summary>
/// A TCG crypto-agile event log (TCG PC Client Platform Firmware Profile §10: a TCG_PCR_EVENT carrying the
/// "Spec ID Event03" header, then TCG_PCR_EVENT2 records), as found in the CCEL ACPI table's log area of a TD.
/// Every length is checked against the buffer; the log ends at the end of the data or at a record header of
/// all 0x00 or all 0xFF bytes (the unused rest of the log area).
/// </summary>
public sealed record TcgEventLog(IReadOnlyDictionary<ushort, int> DigestSizes, IReadOnlyList<TcgEvent> Events)
{
    private const uint EvNoAction = 3;
    private const int MaxEvents = 1 << 20;

    public static TcgEventLog Parse(ReadOnlySpan<byte> log)
    {
        var raw = log.ToArray();
        ReadOnlyMemory<byte> m = raw;
        var b = raw.AsSpan();
        Need(b, 0, 32, "event_log.spec_id_event");
        var type = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        var size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(b[28..]), int.MaxValue);
        Need(b, 32, size, "event_log.spec_id_event");
        var spec = b.Slice(32, size);
        if (type != EvNoAction || spec.Length < 28 || !spec[..16].SequenceEqual("Spec ID Event03\0"u8))
        {
            throw new EvidenceFormatException("event_log.spec_id_event", "the log does not start with a crypto-agile \"Spec ID Event03\" header (SHA-1 only logs are not supported)");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(spec[24..]);
        if (count is 0 or > 16 || spec.Length < 28 + (4 * (int)count) + 1)
        {
            throw new EvidenceFormatException("event_log.spec_id_event.algorithms", $"{count} algorithms do not fit the {spec.Length}-byte header");
        }

        var sizes = new Dictionary<ushort, int>();
        for (var i = 0; i < count; i++)
        {
            var entry = spec[(28 + (4 * i))..];
            sizes[BinaryPrimitives.ReadUInt16LittleEndian(entry)] = BinaryPrimitives.ReadUInt16LittleEndian(entry[2..]);
        }

        var events = new List<TcgEvent>();
        var at = 32 + size;
        while (b.Length - at >= 8)
        {
            var header = b.Slice(at, 8);
            if (!header.ContainsAnyExcept((byte)0) || !header.ContainsAnyExcept((byte)0xFF))
            {
                break;
            }

            var field = $"event_log.events[{events.Count}]";
            Need(b, at, 12, field);
            var mr = BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);
            var eventType = BinaryPrimitives.ReadUInt32LittleEndian(b[(at + 4)..]);
            var digestCount = BinaryPrimitives.ReadUInt32LittleEndian(b[(at + 8)..]);
            if (digestCount > 16)
            {
                throw new EvidenceFormatException($"{field}.digests", $"{digestCount} digests (at most 16 algorithms exist)");
            }

            var p = at + 12;
            var digests = new List<TcgDigest>((int)digestCount);
            for (var d = 0; d < digestCount; d++)
            {
                Need(b, p, 2, $"{field}.digests[{d}]");
                var alg = BinaryPrimitives.ReadUInt16LittleEndian(b[p..]);
                if (!sizes.TryGetValue(alg, out var len))
                {
                    throw new EvidenceFormatException($"{field}.digests[{d}]", $"algorithm 0x{alg:x4} is not declared in the Spec ID header");
                }

                Need(b, p + 2, len, $"{field}.digests[{d}]");
                digests.Add(new TcgDigest(alg, m.Slice(p + 2, len)));
                p += 2 + len;
            }

            Need(b, p, 4, $"{field}.event_size");
            var dataSize = BinaryPrimitives.ReadUInt32LittleEndian(b[p..]);
            if (dataSize > (uint)(b.Length - p - 4))
            {
                throw new EvidenceFormatException($"{field}.event_size", $"{dataSize} bytes declared, {b.Length - p - 4} remain");
            }

            events.Add(new TcgEvent(events.Count, mr, eventType, digests, m.Slice(p + 4, (int)dataSize)));
            at = p + 4 + (int)dataSize;
            if (events.Count > MaxEvents)
            {
                throw new EvidenceFormatException("event_log", $"more than {MaxEvents} events");
            }
        }

        return new TcgEventLog(sizes, events);
    }

    private static void Need(ReadOnlySpan<byte> b, int at, int length, string field)
    {
        if (length < 0 || at > b.Length || b.Length - at < length)
        {
            throw new EvidenceFormatException(field, $"truncated: {length} bytes needed at offset {at}, the log has {b.Length}");
        }
    }
}

/// <summary>Event type names (TCG PC Client PFP §10.4.1, UEFI additions) and short descriptions of their data.</summary>
public static class TcgEventTypes
{
    private static readonly Dictionary<uint, string> Names = new()
    {
        [0x0] = "EV_PREBOOT_CERT", [0x1] = "EV_POST_CODE", [0x2] = "EV_UNUSED", [0x3] = "EV_NO_ACTION",
        [0x4] = "EV_SEPARATOR", [0x5] = "EV_ACTION", [0x6] = "EV_EVENT_TAG", [0x7] = "EV_S_CRTM_CONTENTS",
        [0x8] = "EV_S_CRTM_VERSION", [0x9] = "EV_CPU_MICROCODE", [0xA] = "EV_PLATFORM_CONFIG_FLAGS",
        [0xB] = "EV_TABLE_OF_DEVICES", [0xC] = "EV_COMPACT_HASH", [0xD] = "EV_IPL", [0xE] = "EV_IPL_PARTITION_DATA",
        [0xF] = "EV_NONHOST_CODE", [0x10] = "EV_NONHOST_CONFIG", [0x11] = "EV_NONHOST_INFO", [0x12] = "EV_OMIT_BOOT_DEVICE_EVENTS",
        [0x80000001] = "EV_EFI_VARIABLE_DRIVER_CONFIG", [0x80000002] = "EV_EFI_VARIABLE_BOOT",
        [0x80000003] = "EV_EFI_BOOT_SERVICES_APPLICATION", [0x80000004] = "EV_EFI_BOOT_SERVICES_DRIVER",
        [0x80000005] = "EV_EFI_RUNTIME_SERVICES_DRIVER", [0x80000006] = "EV_EFI_GPT_EVENT", [0x80000007] = "EV_EFI_ACTION",
        [0x80000008] = "EV_EFI_PLATFORM_FIRMWARE_BLOB", [0x80000009] = "EV_EFI_HANDOFF_TABLES",
        [0x8000000A] = "EV_EFI_PLATFORM_FIRMWARE_BLOB2", [0x8000000B] = "EV_EFI_HANDOFF_TABLES2",
        [0x8000000C] = "EV_EFI_VARIABLE_BOOT2", [0x8000000D] = "EV_EFI_GPT_EVENT2",
        [0x80000010] = "EV_EFI_HCRTM_EVENT", [0x800000E0] = "EV_EFI_VARIABLE_AUTHORITY",
        [0x800000E1] = "EV_EFI_SPDM_FIRMWARE_BLOB", [0x800000E2] = "EV_EFI_SPDM_FIRMWARE_CONFIG",

        // Not TCG's: the type dstack gives its runtime events (RTMR3), named so that its logs read like the others.
        [DstackEventLog.RuntimeEventType] = "DSTACK_RUNTIME_EVENT",
    };

    public static string Name(uint type) => Names.TryGetValue(type, out var n) ? n : $"0x{type:x8}";

    /// <summary>What a person needs to recognise the event: a blob's description, a variable's name, the text of an action.</summary>
    public static string Describe(uint type, ReadOnlySpan<byte> data)
    {
        switch (type)
        {
            case 0x8000000A or 0x8000000B when data.Length >= 1 && data[0] <= data.Length - 1:
                return Printable(data.Slice(1, data[0]));
            case 0x80000001 or 0x80000002 or 0x8000000C or 0x800000E0 when data.Length >= 32:
                var nameLength = BinaryPrimitives.ReadUInt64LittleEndian(data[16..]);
                return nameLength <= (ulong)(data.Length - 32) / 2
                    ? Encoding.Unicode.GetString(data.Slice(32, (int)nameLength * 2))
                    : "";
            case 0x4:
                return "";
            default:
                return Printable(data);
        }
    }

    /// <summary>The leading printable ASCII text (up to a NUL), when there is some; else empty.</summary>
    private static string Printable(ReadOnlySpan<byte> data)
    {
        var end = data.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7E);
        var text = end < 0 ? data : data[..end];
        return text.Length >= 3 ? Encoding.ASCII.GetString(text[..Math.Min(text.Length, 256)]) : "";
    }
}
