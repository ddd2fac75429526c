using System.Security.Cryptography;

namespace Veil.Attestation.EventLog;

/// <summary>
/// Replays a TD's CC event log into RTMR0–3: each register starts at 48 zero bytes and every measured event
/// extends it, RTMR = SHA-384(RTMR ‖ event's SHA-384 digest) (TDX module TDG.MR.RTMR.EXTEND). EV_NO_ACTION
/// records are informational and never extended. Events for MRTD (index 0) are listed but not replayed:
/// MRTD is built by the TDX module from the initial pages, not by extension.
/// </summary>
public sealed record RtmrReplay(IReadOnlyList<ReadOnlyMemory<byte>> Rtmrs, IReadOnlyList<TcgEvent> Events)
{
    public const int RegisterCount = 4;
    private const uint EvNoAction = 3;

    public static RtmrReplay Replay(TcgEventLog log)
    {
        var registers = new byte[RegisterCount][];
        for (var i = 0; i < RegisterCount; i++)
        {
            registers[i] = new byte[48];
        }

        Span<byte> buffer = stackalloc byte[96];
        foreach (var e in log.Events)
        {
            if (e.EventType == EvNoAction || e.MrIndex is < 1 or > RegisterCount)
            {
                continue;
            }

            var digest = e.Digest(TcgDigest.Sha384)
                ?? throw new EvidenceFormatException($"event_log.events[{e.Position}].digests", "no SHA-384 digest, so it cannot be replayed into an RTMR");
            if (digest.Length != 48)
            {
                throw new EvidenceFormatException($"event_log.events[{e.Position}].digests", $"SHA-384 digest of {digest.Length} bytes");
            }

            var register = registers[e.MrIndex - 1];
            register.CopyTo(buffer);
            digest.Span.CopyTo(buffer[48..]);
            SHA384.HashData(buffer, register);
        }

        return new RtmrReplay([.. registers.Select(r => (ReadOnlyMemory<byte>)r)], log.Events);
    }

    public static RtmrReplay Parse(ReadOnlySpan<byte> log) => Replay(TcgEventLog.Parse(log));

    /// <summary>One failure per register whose replayed value differs from <paramref name="expected"/> (e.g. a quote's RTMRs).</summary>
    public IReadOnlyList<VerificationFailure> Compare(IReadOnlyList<ReadOnlyMemory<byte>> expected)
    {
        var failures = new List<VerificationFailure>();
        for (var i = 0; i < RegisterCount; i++)
        {
            if (!Rtmrs[i].Span.SequenceEqual(expected[i].Span))
            {
                failures.Add(new($"event_log.rtmr{i}", Hex.Lower(expected[i].Span), $"{Hex.Lower(Rtmrs[i].Span)} (replayed)"));
            }
        }

        return failures;
    }

    /// <summary>The RTMRs and events as plain JSON-shaped values: <c>rtmr0..3</c> and one object per event.</summary>
    public IReadOnlyDictionary<string, object> ToJsonShape() => new Dictionary<string, object>(StringComparer.Ordinal)
    {
        ["rtmrs"] = Enumerable.Range(0, RegisterCount).ToDictionary(i => $"rtmr{i}", i => Hex.Lower(Rtmrs[i].Span)),
        ["events"] = Events.Select(EventShape).ToList(),
    };

    /// <summary>One line per event for claims: "&lt;register&gt; &lt;type&gt; &lt;sha384&gt; &lt;description&gt;".</summary>
    public IReadOnlyList<string> EventLines() =>
        [.. Events.Select(e => $"{Register(e.MrIndex)} {e.TypeName} {(e.Digest(TcgDigest.Sha384) is { } d ? Hex.Lower(d.Span) : "-")} {e.Description}".TrimEnd())];

    public static string Register(uint mrIndex) => mrIndex switch
    {
        0 => "mrtd",
        >= 1 and <= RegisterCount => $"rtmr{mrIndex - 1}",
        _ => $"index{mrIndex}",
    };

    private static Dictionary<string, object> EventShape(TcgEvent e) => new(StringComparer.Ordinal)
    {
        ["position"] = (long)e.Position,
        ["index"] = (long)e.MrIndex,
        ["register"] = Register(e.MrIndex),
        ["type"] = (long)e.EventType,
        ["type_name"] = e.TypeName,
        ["digests"] = e.Digests.GroupBy(d => d.AlgorithmId).ToDictionary(g => AlgorithmName(g.Key), g => Hex.Lower(g.First().Value.Span)),
        ["description"] = e.Description,
    };

    private static string AlgorithmName(ushort id) => id switch
    {
        TcgDigest.Sha1 => "sha1",
        TcgDigest.Sha256 => "sha256",
        TcgDigest.Sha384 => "sha384",
        TcgDigest.Sha512 => "sha512",
        _ => $"0x{id:x4}",
    };
}
