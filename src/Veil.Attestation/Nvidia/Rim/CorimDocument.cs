using System.Text.RegularExpressions;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>
/// Reads a CoRIM (draft-ietf-rats-corim) into the <see cref="RimDocument"/> model of the SWID path, so the same
/// version match, signing-chain check and measurement comparison apply. Envelopes, outermost first:
/// <list type="bullet">
/// <item>#6.500 / #6.502 (draft-06 <c>corim</c> / <c>signed-corim</c>), which NVIDIA's published CoRIMs carry in front;
/// stripped, as Trustee's RVPS and Veraison's cocli do;</item>
/// <item>#6.18 COSE_Sign1 (signed; the payload is the tagged corim-map), or the bare COSE array inside #6.502;</item>
/// <item>#6.501 corim-map (unsigned; parsed, but the signature check then fails by name).</item>
/// </list>
/// NVIDIA's profile (attestation-sdk corim.cpp and its Blackwell FSP sample): CoMIDs (#6.506, as an embedded byte
/// string or a map) whose reference triples give, per environment, measurement-maps keyed by the SPDM measurement
/// index (mkey, 1-based) with SHA-384 digests (alg 7) or a raw value (#6.560). Several maps with the same mkey in
/// the same environment are alternatives. Maps without an integer mkey (the environment's own SVN or digest, or
/// NVIDIA's experimental OID-keyed draft-11 environments) are not measurement blocks and are left out.
/// </summary>
internal static partial class CorimDocument
{
    public const ulong CorimTag = 500;
    public const ulong CorimMapTag = 501;
    public const ulong SignedCorimTag = 502;
    public const ulong ComidTag = 506;
    private const int MaxAlternatives = 64;

    /// <summary>
    /// The version at the end of an id: five dot-separated hex pairs (firmware) or dotted decimals (driver), after
    /// '_' or '-' (<c>NV_GPU_CC_DRIVER_GB100_575.32</c>, <c>10de294110de2046-000005f1-97.00.F3.00.07</c>).
    /// Fixed, with no loop inside a loop, so no catastrophic backtracking on an id: no timeout either (a wall-clock
    /// timeout also fires when the thread is merely descheduled, failing a good RIM on a loaded node).
    /// </summary>
    [GeneratedRegex("(?:^|[_-])((?:[0-9A-Fa-f]{2}\\.){4}[0-9A-Fa-f]{2}|[0-9]+(?:\\.[0-9]+){1,3})$", RegexOptions.CultureInvariant)]
    private static partial Regex TrailingVersion();

    /// <summary>CBOR starts with a tag (major type 6) or, bare, the four-element COSE array; XML never does.</summary>
    public static bool IsCbor(ReadOnlySpan<byte> bytes) => bytes.Length > 0 && (bytes[0] >> 5 == (int)CborType.Tag || bytes[0] == 0x84);

    /// <summary>Parses a CoRIM into the RIM model: one measurement per SPDM index, with its alternatives.</summary>
    public static RimDocument Parse(ReadOnlyMemory<byte> bytes, string field)
    {
        var content = Read(bytes, field);
        var all = content.Comids.SelectMany(c => c.Measurements).ToList();
        var measurements = Measurements(all, content.Field);
        var version = Version(all, content.Comids, content.Id, content.Field);
        return new RimDocument
        {
            TagId = content.Id,
            Product = all.FirstOrDefault(m => m.Index is not null)?.Model ?? "",
            Version = version,
            Kind = RimDocument.KindOf(version),
            ManufacturerId = null,
            Measurements = measurements,
            Format = RimFormat.Corim,
            NotBefore = content.NotBefore,
            NotAfter = content.NotAfter,
            Cose = content.Cose,
        };
    }

    /// <summary>Reads the envelope and the corim-map, profile-independent: every CoMID's reference measurements.</summary>
    internal static CorimContent Read(ReadOnlyMemory<byte> bytes, string field)
    {
        var r = new CborReader(bytes);
        var envelope = field + ".corim";
        var inSigned = false;
        while (r.PeekTag(envelope) is CorimTag or SignedCorimTag)
        {
            inSigned |= r.ReadTag(envelope) == SignedCorimTag;
        }

        CoseSign1? cose = null;
        CborReader map;
        string mapField;
        if (r.TryReadTag(CoseSign1.Tag, envelope) || (inSigned && r.PeekType(envelope) == CborType.Array))
        {
            cose = CoseSign1.Read(r, field + ".cose");
            map = new CborReader(cose.Payload);
            mapField = field + ".cose.payload";
        }
        else if (r.PeekTag(envelope) == CorimMapTag)
        {
            map = r;
            mapField = field + ".corim-map";
        }
        else
        {
            var found = r.PeekTag(envelope) is { } t ? $"tag {t}" : r.PeekType(envelope).ToString().ToLowerInvariant();
            throw new EvidenceFormatException(envelope, $"expected tag 18 (COSE_Sign1) or 501 (corim-map), found {found}");
        }

        if (!map.TryReadTag(CorimMapTag, mapField))
        {
            throw new EvidenceFormatException(mapField, "not a tagged corim-map (#6.501)");
        }

        var (id, comids, notBefore, notAfter) = ReadCorimMap(map, mapField);
        map.ExpectEnd(mapField);
        r.ExpectEnd(envelope);
        return new CorimContent(id, cose, comids, notBefore, notAfter, mapField);
    }

    /// <summary>corim-map: 0 id, 1 tags (required), 4 rim-validity; dependent RIMs, profile and entities are skipped.</summary>
    private static (string Id, List<Comid> Comids, DateTimeOffset? NotBefore, DateTimeOffset? NotAfter) ReadCorimMap(CborReader r, string field)
    {
        string? id = null;
        List<Comid>? comids = null;
        DateTimeOffset? notBefore = null, notAfter = null;
        foreach (var key in r.IntKeys(field))
        {
            var at = $"{field}[{key}]";
            switch (key)
            {
                case 0:
                    id = Comid.Id(r, at + ".id");
                    break;
                case 1:
                    comids = [];
                    var n = r.ReadArray(at + ".tags");
                    for (var i = 0; i < n; i++)
                    {
                        var tag = $"{at}.tags[{i}]";
                        if (r.TryReadTag(ComidTag, tag))
                        {
                            comids.Add(ReadComid(r, tag + ".comid"));
                        }
                        else
                        {
                            _ = r.Skip(tag); // CoSWID (#6.505), CoTL (#6.508): no reference measurements
                        }
                    }

                    break;
                case 4:
                    foreach (var k in r.IntKeys(at + ".rim-validity"))
                    {
                        var when = $"{at}.rim-validity[{k}]";
                        if (k is 0 or 1)
                        {
                            var t = Time(r, when);
                            if (k == 0)
                            {
                                notBefore = t;
                            }
                            else
                            {
                                notAfter = t;
                            }
                        }
                        else
                        {
                            _ = r.Skip(when);
                        }
                    }

                    break;
                default:
                    _ = r.Skip(at);
                    break;
            }
        }

        if (comids is not { Count: > 0 })
        {
            throw new EvidenceFormatException(field + ".tags", comids is null ? "missing" : "no CoMID (#6.506) among the tags");
        }

        return (id ?? throw new EvidenceFormatException(field + ".id", "missing"), comids, notBefore, notAfter);
    }

    /// <summary>A tagged CoMID: the map itself, or (as generators commonly write it) a byte string holding exactly one map.</summary>
    private static Comid ReadComid(CborReader r, string field)
    {
        if (r.PeekType(field) != CborType.Bytes)
        {
            return Comid.Read(r, field);
        }

        var inner = new CborReader(r.ReadBytes(field));
        var comid = Comid.Read(inner, field);
        inner.ExpectEnd(field);
        return comid;
    }

    /// <summary>A time: epoch seconds (#6.1) as an integer; floats and text dates are refused.</summary>
    private static DateTimeOffset Time(CborReader r, string field)
    {
        if (!r.TryReadTag(1, field))
        {
            throw new EvidenceFormatException(field, "expected an epoch time (#6.1)");
        }

        var seconds = r.ReadInteger(field);
        return seconds is >= -62135596800 and <= 253402300799
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : throw new EvidenceFormatException(field, $"time {seconds} out of range");
    }

    /// <summary>Merges the measurement-maps with an integer mkey into one RIM measurement per SPDM index.</summary>
    private static List<RimMeasurement> Measurements(List<CorimMeasurement> all, string field)
    {
        var byIndex = new SortedDictionary<ulong, (string Environment, string Field, List<ReadOnlyMemory<byte>> Values)>();
        foreach (var m in all)
        {
            if (m.Index is not { } mkey || m.Values.Count == 0)
            {
                continue;
            }

            if (mkey is 0 or > 254)
            {
                throw new EvidenceFormatException(m.Field + ".mkey", $"{mkey} is not an SPDM measurement index (1 to 254)");
            }

            if (!byIndex.TryGetValue(mkey, out var entry))
            {
                entry = (m.Environment, m.Field, []);
                byIndex[mkey] = entry;
            }
            else if (entry.Environment != m.Environment)
            {
                throw new EvidenceFormatException(m.Field, $"mkey {mkey} is claimed by two environments ({entry.Environment}) and ({m.Environment})");
            }

            foreach (var v in m.Values)
            {
                if (!entry.Values.Exists(e => e.Span.SequenceEqual(v.Span)))
                {
                    entry.Values.Add(v);
                }
            }
        }

        var result = new List<RimMeasurement>();
        foreach (var (mkey, (environment, at, values)) in byIndex)
        {
            var size = values[0].Length;
            if (values.Exists(v => v.Length != size))
            {
                throw new EvidenceFormatException(at, $"mkey {mkey}: alternatives of different lengths ({string.Join(", ", values.Select(v => v.Length).Distinct())} bytes)");
            }

            if (values.Count > MaxAlternatives)
            {
                throw new EvidenceFormatException(at, $"mkey {mkey}: {values.Count} alternatives (limit {MaxAlternatives})");
            }

            result.Add(new RimMeasurement((int)mkey - 1, Active: true, values, size, $"{environment} mkey {mkey}"));
        }

        return result.Count > 0
            ? result
            : throw new EvidenceFormatException(field, "no reference measurement with an SPDM index (integer mkey) and a digest or raw value");
    }

    /// <summary>
    /// The version the RIM is for: the version stated in measurement-values (all must agree), else the version that
    /// ends a CoMID tag id or the CoRIM id. A wrong guess here can only fail the version match, never pass it.
    /// </summary>
    private static string Version(List<CorimMeasurement> all, IReadOnlyList<Comid> comids, string id, string field)
    {
        var stated = all.Select(m => m.Version).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (stated.Count > 1)
        {
            throw new EvidenceFormatException(field, $"measurement values state different versions: {string.Join(", ", stated)}");
        }

        if (stated.Count == 1)
        {
            return stated[0];
        }

        foreach (var candidate in comids.Select(c => c.TagId).Append(id))
        {
            if (TrailingVersion().Match(candidate) is { Success: true } m)
            {
                return m.Groups[1].Value;
            }
        }

        throw new EvidenceFormatException(field, "no version: none in the measurement values, none at the end of a tag id or the CoRIM id");
    }
}

/// <summary>What a CoRIM holds before the NVIDIA profile is applied; <c>Field</c> names the corim-map in errors.</summary>
internal sealed record CorimContent(string Id, CoseSign1? Cose, IReadOnlyList<Comid> Comids, DateTimeOffset? NotBefore, DateTimeOffset? NotAfter, string Field);
