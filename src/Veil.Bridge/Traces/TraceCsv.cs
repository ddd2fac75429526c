using System.Globalization;
using Veil.Bridge.Engine;

namespace Veil.Bridge.Traces;

/// <summary>
/// Reads a GPU trace CSV: a header row, then one row per kernel or copy. Columns are found by name
/// (case-insensitive): start (<c>start</c>, <c>Start (ns)</c>), duration (<c>duration</c>, <c>Duration (ns)</c>),
/// kind (<c>kind</c>; or nsys's <c>Name</c> such as "[CUDA memcpy Host-to-Device]"), bytes (<c>bytes</c>, or
/// <c>Bytes (MB)</c> with <c>Throughput (MB/s)</c>), stream (<c>stream</c>, <c>Strm</c>), and optionally the host
/// memory (<c>memory</c>, or nsys's <c>SrcMemKd</c>/<c>DstMemKd</c>), the crossing level (<c>level</c>) and the GPU
/// context (nsys's <c>Device</c>/<c>Ctx</c>). Times are nanoseconds. The field splitter is ours: the feed
/// now serves CSV readers (Sep, Sylvan.Data.Csv, CsvHelper), but what this needs of one is a short quoted-field split
/// with a line-numbered error, while the bulk (column names, nsys units, kinds) stays ours either way.
/// </summary>
internal static class TraceCsv
{
    public const int MaxLineLength = 65_536;
    public const long MaxRows = 100_000_000;

    public static IReadOnlyList<TraceRecord> Read(string path, string? context = null)
    {
        if (!File.Exists(path))
        {
            throw new BridgeInputException("--trace", $"file not found: {path}");
        }

        using var reader = new StreamReader(path);
        return Read(reader, context);
    }

    public static IReadOnlyList<TraceRecord> Read(TextReader reader, string? context = null)
    {
        var header = ReadLine(reader, 1) ?? throw new BridgeInputException("trace", "empty file (expected a header row)");
        var columns = Split(header, 1).Select(c => c.Trim().ToLowerInvariant()).ToList();
        int Find(string what, bool required, params string[] names)
        {
            var i = columns.FindIndex(c => names.Contains(c));
            return i >= 0 || !required ? i : throw new BridgeInputException("trace header", $"no {what} column (one of: {string.Join(", ", names)})");
        }

        var start = Find("start", true, "start", "start (ns)", "start_ns");
        var duration = Find("duration", true, "duration", "duration (ns)", "duration_ns");
        var kind = Find("kind", false, "kind", "type");
        var name = Find("name", false, "name");
        if (kind < 0 && name < 0)
        {
            throw new BridgeInputException("trace header", "no kind column (kind, or nsys's Name)");
        }

        var bytes = Find("bytes", false, "bytes", "bytes (b)");
        var megabytes = Find("bytes (mb)", false, "bytes (mb)");
        var throughput = Find("throughput", false, "throughput (mb/s)", "throughput (mbps)");
        var stream = Find("stream", true, "stream", "strm", "stream id");
        var memory = Find("memory", false, "memory");
        var src = Find("srcmemkd", false, "srcmemkd");
        var dst = Find("dstmemkd", false, "dstmemkd");
        var level = Find("level", false, "level");
        var device = Find("device", false, "device");
        var ctx = Find("ctx", false, "ctx");
        var contexts = new TraceContexts(context);
        var streams = new Dictionary<string, int>(StringComparer.Ordinal);
        var rows = new List<TraceRecord>();
        var lineNo = 1;
        while (ReadLine(reader, ++lineNo) is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (rows.Count >= MaxRows)
            {
                throw new BridgeInputException($"trace line {lineNo}", $"more than {MaxRows} rows");
            }

            var f = Split(line, lineNo);
            if (f.Count != columns.Count)
            {
                throw new BridgeInputException($"trace line {lineNo}", $"{f.Count} fields, header has {columns.Count}");
            }

            if (!contexts.Keep(device >= 0 && ctx >= 0 ? $"{f[device].Trim()}/{f[ctx].Trim()}" : null))
            {
                continue;
            }

            var k = kind >= 0 ? ParseKind(f[kind], lineNo) : KindFromName(f[name]);
            var durationNs = Integer(f[duration], lineNo, "duration");
            long size = 0;
            if (bytes >= 0 && f[bytes].Length > 0)
            {
                size = Integer(f[bytes], lineNo, "bytes");
            }
            else if (megabytes >= 0 && f[megabytes].Length > 0)
            {
                // nsys stats prints Bytes (MB) to three decimals, so a 4 KiB copy reads 0.004 MB and a 200-byte one
                // 0.000. Throughput × duration recovers the bytes to a byte when nsys prints the throughput.
                size = (long)Math.Round(Number(f[megabytes], lineNo, "bytes (MB)") * 1e6);
                if (throughput >= 0 && f[throughput].Length > 0 && durationNs > 0)
                {
                    size = (long)Math.Round(Number(f[throughput], lineNo, "throughput (MB/s)") * durationNs / 1e3);
                }
            }

            if (k is TraceKind.CopyToDevice or TraceKind.CopyToHost && (bytes < 0 && megabytes < 0))
            {
                throw new BridgeInputException("trace header", "copies need a bytes column");
            }

            var streamKey = f[stream].Trim();
            if (!streams.TryGetValue(streamKey, out var streamIndex))
            {
                streamIndex = streams.Count;
                if (streamIndex >= 1024)
                {
                    throw new BridgeInputException($"trace line {lineNo}", "more than 1024 streams");
                }

                streams.Add(streamKey, streamIndex);
            }

            var host = k == TraceKind.CopyToDevice ? src : dst;
            HostMemory? mem = memory >= 0 && f[memory].Trim().Length > 0 ? MemoryKind(f[memory], lineNo)
                : k is TraceKind.CopyToDevice or TraceKind.CopyToHost && host >= 0 ? NsysMemory(f[host]) : null;
            CrossingLevel? lvl = level >= 0 && f[level].Trim().Length > 0 ? ParseLevel(f[level], lineNo) : null;
            rows.Add(new TraceRecord(Integer(f[start], lineNo, "start"), durationNs, k, size, streamIndex, mem, lvl));
        }

        contexts.Check();
        if (rows.Count == 0)
        {
            throw new BridgeInputException("trace", "no rows after the header");
        }

        return rows;
    }

    private static HostMemory MemoryKind(string s, int line) => s.Trim().ToLowerInvariant() switch
    {
        "pinned" => HostMemory.Pinned,
        "pageable" => HostMemory.Pageable,
        _ => throw new BridgeInputException($"trace line {line}", $"memory '{s}' is not pinned or pageable"),
    };

    private static CrossingLevel ParseLevel(string s, int line) => s.Trim().ToLowerInvariant() switch
    {
        "api" => CrossingLevel.Api,
        "dma" => CrossingLevel.Dma,
        _ => throw new BridgeInputException($"trace line {line}", $"level '{s}' is not api or dma"),
    };

    /// <summary>nsys's SrcMemKd/DstMemKd names; managed (UVM) memory is staged like pageable memory, unknown kinds stay unknown.</summary>
    private static HostMemory? NsysMemory(string s) => s.Trim().ToLowerInvariant() switch
    {
        "pinned" => HostMemory.Pinned,
        "pageable" or "managed" => HostMemory.Pageable,
        _ => null,
    };

    private static string? ReadLine(TextReader reader, int lineNo)
    {
        var line = reader.ReadLine();
        return line is { Length: > MaxLineLength } ? throw new BridgeInputException($"trace line {lineNo}", $"longer than {MaxLineLength} characters") : line;
    }

    private static TraceKind ParseKind(string s, int line) => s.Trim().ToLowerInvariant() switch
    {
        "kernel" => TraceKind.Kernel,
        "h2d" or "memcpy_h2d" or "htod" => TraceKind.CopyToDevice,
        "d2h" or "memcpy_d2h" or "dtoh" => TraceKind.CopyToHost,
        "d2d" or "memcpy_d2d" or "dtod" => TraceKind.CopyOnDevice,
        "memset" => TraceKind.Memset,
        _ => throw new BridgeInputException($"trace line {line}", $"kind '{s}' is not kernel, h2d, d2h, d2d or memset"),
    };

    private static TraceKind KindFromName(string name)
    {
        if (!name.StartsWith("[CUDA ", StringComparison.Ordinal))
        {
            return TraceKind.Kernel;
        }

        return name switch
        {
            _ when name.Contains("Host-to-Device", StringComparison.Ordinal) || name.Contains("HtoD", StringComparison.Ordinal) => TraceKind.CopyToDevice,
            _ when name.Contains("Device-to-Host", StringComparison.Ordinal) || name.Contains("DtoH", StringComparison.Ordinal) => TraceKind.CopyToHost,
            _ when name.Contains("memset", StringComparison.Ordinal) => TraceKind.Memset,
            _ => TraceKind.CopyOnDevice,
        };
    }

    private static long Integer(string s, int line, string field)
    {
        var t = s.Trim().Replace(",", string.Empty, StringComparison.Ordinal);
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0)
        {
            return v;
        }

        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 && d < 9e18)
        {
            return (long)Math.Round(d);
        }

        throw new BridgeInputException($"trace line {line}", $"{field}: '{s}' is not a non-negative number");
    }

    private static double Number(string s, int line, string field) =>
        double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 && double.IsFinite(d)
            ? d
            : throw new BridgeInputException($"trace line {line}", $"{field}: '{s}' is not a non-negative number");

    /// <summary>Splits one CSV line; double quotes enclose fields with commas, "" is a literal quote.</summary>
    private static IReadOnlyList<string> Split(string line, int lineNo)
    {
        if (!line.Contains('"', StringComparison.Ordinal))
        {
            return line.Split(',');
        }

        var fields = new List<string>();
        var sb = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"')
                    {
                        sb.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    sb.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(sb.ToString());
                sb.Clear();
            }
            else
            {
                sb.Append(c);
            }
        }

        if (quoted)
        {
            throw new BridgeInputException($"trace line {lineNo}", "unterminated quote");
        }

        fields.Add(sb.ToString());
        return fields;
    }
}
