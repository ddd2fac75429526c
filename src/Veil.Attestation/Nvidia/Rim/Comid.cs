using System.Globalization;

namespace Veil.Attestation.Nvidia.Rim;

/// <summary>
/// One measurement-map of a reference triple: the environment it is about (a canonical text of the
/// environment-map, so that two triples about the same environment compare equal), its mkey when that is an
/// unsigned integer, the version it states, and the acceptable values (digests and raw value).
/// </summary>
internal sealed record CorimMeasurement(string Environment, string Model, ulong? Index, string? Version, IReadOnlyList<ReadOnlyMemory<byte>> Values, string Field);

/// <summary>A concise-mid-tag (CoMID, draft-ietf-rats-corim §5): its tag id and the measurements of its reference triples.</summary>
internal sealed record Comid(string TagId, IReadOnlyList<CorimMeasurement> Measurements)
{
    /// <summary>Reads a concise-mid-tag map: 1 tag-identity, 4 triples; language, entities and linked tags are skipped.</summary>
    public static Comid Read(CborReader r, string field)
    {
        string? tagId = null;
        var measurements = new List<CorimMeasurement>();
        var sawTriples = false;
        foreach (var key in r.IntKeys(field))
        {
            var at = $"{field}[{key}]";
            switch (key)
            {
                case 1:
                    foreach (var k in r.IntKeys(at))
                    {
                        if (k == 0)
                        {
                            tagId = Id(r, at + ".tag-id");
                        }
                        else
                        {
                            _ = r.Skip($"{at}[{k}]");
                        }
                    }

                    break;
                case 4:
                    sawTriples = true;
                    foreach (var k in r.IntKeys(at))
                    {
                        if (k == 0)
                        {
                            ReadReferenceTriples(r, at + ".reference-triples", measurements);
                        }
                        else
                        {
                            _ = r.Skip($"{at}[{k}]"); // endorsements, identity and attest keys say nothing about measurements
                        }
                    }

                    break;
                default:
                    _ = r.Skip(at);
                    break;
            }
        }

        return new Comid(
            tagId ?? throw new EvidenceFormatException(field + ".tag-identity", "missing"),
            sawTriples ? measurements : throw new EvidenceFormatException(field + ".triples", "missing"));
    }

    /// <summary>A tag-id or corim-id: a text string or a UUID (16 bytes; #6.37-tagged as some generators write it).</summary>
    internal static string Id(CborReader r, string field)
    {
        if (r.TryReadTag(37, field) || r.PeekType(field) == CborType.Bytes)
        {
            var uuid = r.ReadBytes(field);
            return uuid.Length == 16 ? new Guid(uuid.Span, bigEndian: true).ToString() : throw new EvidenceFormatException(field, $"UUID of {uuid.Length} bytes, not 16");
        }

        return r.ReadText(field);
    }

    private static void ReadReferenceTriples(CborReader r, string field, List<CorimMeasurement> into)
    {
        var n = r.ReadArray(field);
        for (var i = 0; i < n; i++)
        {
            var at = $"{field}[{i}]";
            if (r.ReadArray(at) != 2)
            {
                throw new EvidenceFormatException(at, "a reference triple is [environment-map, [+ measurement-map]]");
            }

            var (environment, model) = Environment(r, at + ".ref-env");
            var claims = r.ReadArray(at + ".ref-claims");
            if (claims == 0)
            {
                throw new EvidenceFormatException(at + ".ref-claims", "empty: a reference triple needs at least one measurement-map");
            }

            for (var j = 0; j < claims; j++)
            {
                into.Add(Measurement(r, environment, model, $"{at}.ref-claims[{j}]"));
            }
        }
    }

    /// <summary>environment-map: 0 class-map {0 class-id, 1 vendor, 2 model, 3 layer, 4 index}, 1 instance, 2 group.</summary>
    private static (string Text, string Model) Environment(CborReader r, string field)
    {
        var parts = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var model = "";
        foreach (var key in r.IntKeys(field))
        {
            var at = $"{field}[{key}]";
            if (key != 0)
            {
                // Instance and group are kept as their encoding: they only have to tell environments apart.
                parts[key == 1 ? "instance" : key == 2 ? "group" : $"env{key}"] = Hex.Lower(r.Skip(at).Span);
                continue;
            }

            foreach (var k in r.IntKeys(at + ".class"))
            {
                var c = $"{at}.class[{k}]";
                switch (k)
                {
                    case 1:
                        parts["vendor"] = r.ReadText(c);
                        break;
                    case 2:
                        model = r.ReadText(c);
                        parts["model"] = model;
                        break;
                    case 3 or 4:
                        parts[k == 3 ? "layer" : "index"] = r.ReadUnsigned(c).ToString(CultureInfo.InvariantCulture);
                        break;
                    default:
                        parts[k == 0 ? "class-id" : $"class{k}"] = Hex.Lower(r.Skip(c).Span);
                        break;
                }
            }
        }

        return (string.Join(", ", parts.Select(p => $"{p.Key}={p.Value}")), model);
    }

    /// <summary>measurement-map: 0 mkey, 1 mval (required), 2 authorized-by.</summary>
    private static CorimMeasurement Measurement(CborReader r, string environment, string model, string field)
    {
        ulong? index = null;
        string? version = null;
        List<ReadOnlyMemory<byte>>? values = null;
        foreach (var key in r.IntKeys(field))
        {
            var at = $"{field}[{key}]";
            switch (key)
            {
                case 0 when r.PeekType(at) == CborType.Unsigned:
                    index = r.ReadUnsigned(at + ".mkey");
                    break;
                case 1:
                    (version, values) = Values(r, at + ".mval");
                    break;
                default:
                    _ = r.Skip(at); // a non-integer mkey (UUID, OID, text) names no SPDM index
                    break;
            }
        }

        return new CorimMeasurement(environment, model, index, version,
            values ?? throw new EvidenceFormatException(field + ".mval", "missing"), field);
    }

    /// <summary>measurement-values-map: 0 version-map, 2 digests, 4 raw-value (#6.560), 5 raw-value-mask; the rest is skipped.</summary>
    private static (string? Version, List<ReadOnlyMemory<byte>> Values) Values(CborReader r, string field)
    {
        string? version = null;
        var values = new List<ReadOnlyMemory<byte>>();
        foreach (var key in r.IntKeys(field))
        {
            var at = $"{field}[{key}]";
            switch (key)
            {
                case 0:
                    foreach (var k in r.IntKeys(at + ".version"))
                    {
                        if (k == 0)
                        {
                            version = r.ReadText(at + ".version");
                        }
                        else
                        {
                            _ = r.Skip($"{at}.version[{k}]");
                        }
                    }

                    break;
                case 2:
                    var n = r.ReadArray(at + ".digests");
                    for (var i = 0; i < n; i++)
                    {
                        values.Add(Digest(r, $"{at}.digests[{i}]"));
                    }

                    break;
                case 4:
                    if (!r.TryReadTag(560, at + ".raw-value"))
                    {
                        throw new EvidenceFormatException(at + ".raw-value", "expected tagged bytes (#6.560); masked raw values are not supported");
                    }

                    values.Add(r.ReadBytes(at + ".raw-value"));
                    break;
                case 5:
                    // Ignoring a mask would compare more bits than the author meant; refuse instead of guessing.
                    throw new EvidenceFormatException(at + ".raw-value-mask", "masked raw values are not supported");
                default:
                    _ = r.Skip(at);
                    break;
            }
        }

        return (version, values);
    }

    /// <summary>digest = [alg, val]: alg a named-information id (1, 7, 8), a COSE id (-16, -43, -44) or its name.</summary>
    private static ReadOnlyMemory<byte> Digest(CborReader r, string field)
    {
        if (r.ReadArray(field) != 2)
        {
            throw new EvidenceFormatException(field, "a digest is [alg, value]");
        }

        var alg = r.PeekType(field + ".alg") == CborType.Text ? (object)r.ReadText(field + ".alg") : r.ReadInteger(field + ".alg");
        var expected = alg switch
        {
            1L or -16L or "sha-256" => 32,
            7L or -43L or "sha-384" => 48,
            8L or -44L or "sha-512" => 64,
            _ => throw new EvidenceFormatException(field + ".alg", $"digest algorithm {alg} is not supported (sha-256, sha-384, sha-512)"),
        };
        var value = r.ReadBytes(field + ".value");
        return value.Length == expected
            ? value
            : throw new EvidenceFormatException(field + ".value", $"{value.Length} bytes for a {expected * 8}-bit digest");
    }
}
