using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Veil.Broker.Metrics;

/// <summary>
/// Prometheus text exposition (format 0.0.4) of the broker's counters and histograms, aggregated with a
/// <see cref="MeterListener"/>. Hand-written: no Prometheus exporter package is available here.
/// </summary>
internal sealed class PrometheusText : IDisposable
{
    private static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Name, string Labels), long> _counters = new();
    private readonly ConcurrentDictionary<(string Name, string Labels), HistogramState> _histograms = new();
    private readonly ConcurrentDictionary<string, (string Type, string Help)> _meta = new(StringComparer.Ordinal);

    public PrometheusText(BrokerMetrics metrics)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
            {
                _meta[instrument.Name] = (instrument is Histogram<double> ? "histogram" : "counter", instrument.Description ?? instrument.Name);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            _counters.AddOrUpdate((instrument.Name, Labels(tags)), value, (_, old) => old + value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            _histograms.GetOrAdd((instrument.Name, Labels(tags)), _ => new HistogramState()).Record(value));
        _listener.Start();
    }

    public string Render()
    {
        var sb = new StringBuilder();
        foreach (var (name, (type, help)) in _meta.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            if (type == "counter")
            {
                foreach (var ((n, labels), value) in _counters.Where(c => c.Key.Name == name).OrderBy(c => c.Key.Labels, StringComparer.Ordinal))
                {
                    sb.Append(n).Append(Braces(labels)).Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }

                continue;
            }

            foreach (var ((n, labels), h) in _histograms.Where(c => c.Key.Name == name).OrderBy(c => c.Key.Labels, StringComparer.Ordinal))
            {
                var (counts, sum, count) = h.Snapshot();
                var prefix = labels.Length == 0 ? "" : labels + ",";
                for (var i = 0; i < Buckets.Length; i++)
                {
                    sb.Append(n).Append("_bucket{").Append(prefix).Append("le=\"").Append(Buckets[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ")
                        .Append(counts[i].ToString(CultureInfo.InvariantCulture)).Append('\n');
                }

                sb.Append(n).Append("_bucket{").Append(prefix).Append("le=\"+Inf\"} ").Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                sb.Append(n).Append("_sum").Append(Braces(labels)).Append(' ').Append(sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                sb.Append(n).Append("_count").Append(Braces(labels)).Append(' ').Append(count.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        return sb.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private static string Braces(string labels) => labels.Length == 0 ? "" : "{" + labels + "}";

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string>(tags.Length);
        foreach (var t in tags)
        {
            var v = Convert.ToString(t.Value, CultureInfo.InvariantCulture) ?? "";
            parts.Add($"{t.Key}=\"{v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"");
        }

        parts.Sort(StringComparer.Ordinal);
        return string.Join(",", parts);
    }

    private sealed class HistogramState
    {
        private readonly long[] _counts = new long[Buckets.Length];
        private double _sum;
        private long _count;

        public void Record(double value)
        {
            lock (this)
            {
                for (var i = 0; i < Buckets.Length; i++)
                {
                    if (value <= Buckets[i])
                    {
                        _counts[i]++;
                    }
                }

                _sum += value;
                _count++;
            }
        }

        public (long[] Counts, double Sum, long Count) Snapshot()
        {
            lock (this)
            {
                return ((long[])_counts.Clone(), _sum, _count);
            }
        }
    }
}
