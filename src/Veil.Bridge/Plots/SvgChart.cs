using System.Globalization;
using System.Text;
using Veil.Bridge.Reports;

namespace Veil.Bridge.Plots;

/// <summary>
/// SVG for <c>veil bridge simulate --output svg</c>: throughput against concurrency per series and each CC-on series'
/// throughput relative to CC off (serving workloads swept over concurrency), and a stacked time breakdown of the
/// issuing thread. Written by hand: no plotting library is available here, and the charts need only lines,
/// rectangles and text.
/// </summary>
internal static class SvgChart
{
    private const int Width = 760;
    private const int PanelHeight = 300;
    private const int Left = 80;
    private const int Right = 200;
    private const int Top = 40;
    private const int Bottom = 50;
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];
    private static readonly (string Name, string Color)[] Parts =
        [("CPU", "#7f7f7f"), ("launch", "#bcbd22"), ("copy (blocked)", "#d62728"), ("API alloc", "#ff7f0e"), ("waiting", "#1f77b4")];

    public static string Render(SimulationReport report)
    {
        var concurrencies = report.Points.Select(p => p.Concurrency).Distinct().Order().ToList();
        var lineChart = report.WorkloadKind == "serving" && concurrencies.Count > 1;
        var ratios = lineChart ? Ratios(report) : [];
        var height = (1 + (lineChart ? 1 : 0) + (ratios.Count > 0 ? 1 : 0)) * PanelHeight;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>\n");
        var y0 = 0;
        if (lineChart)
        {
            Lines(sb, concurrencies, y0, $"{report.Workload} on {report.Platform}: throughput ({report.Points[0].ThroughputUnit}) vs concurrency", [.. report.SeriesNames.Select(s => (s, report.Points.Where(p => p.Series == s).Select(p => (p.Concurrency, p.Throughput)).ToList()))], report.Points[0].ThroughputUnit, 0);
            y0 += PanelHeight;
        }

        if (ratios.Count > 0)
        {
            Lines(sb, concurrencies, y0, $"{report.Workload} on {report.Platform}: throughput relative to cc-off vs concurrency", ratios, "x cc-off", 1);
            y0 += PanelHeight;
        }

        Breakdown(sb, report, concurrencies[^1], y0);
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>Each non-cc-off series divided by cc-off at the same concurrency.</summary>
    private static List<(string Name, List<(int X, double Y)> Points)> Ratios(SimulationReport r)
    {
        var off = r.Points.Where(p => p.Series == "cc-off").ToDictionary(p => p.Concurrency, p => p.Throughput);
        return off.Count == 0
            ? []
            : [.. r.SeriesNames.Where(s => s != "cc-off").Select(s => (s, r.Points.Where(p => p.Series == s && off.ContainsKey(p.Concurrency)).Select(p => (p.Concurrency, p.Throughput / off[p.Concurrency])).ToList()))];
    }

    private static void Lines(StringBuilder sb, List<int> xs, int y0, string title, List<(string Name, List<(int X, double Y)> Points)> series, string unit, int paletteOffset)
    {
        Text(sb, Left, y0 + 20, title, bold: true);
        var max = Math.Max(1e-9, series.SelectMany(s => s.Points).Max(p => p.Y) * 1.1);
        var plotW = Width - Left - Right;
        var plotH = PanelHeight - Top - Bottom;
        double X(int c) => Left + (plotW * (Math.Log2(c) - Math.Log2(xs[0])) / Math.Max(1e-9, Math.Log2(xs[^1]) - Math.Log2(xs[0])));
        double Y(double v) => y0 + Top + plotH - (plotH * v / max);
        Axes(sb, y0, plotW, plotH);
        foreach (var c in xs)
        {
            Line(sb, X(c), y0 + Top + plotH, X(c), y0 + Top + plotH + 5, "#000");
            Text(sb, X(c) - 8, y0 + Top + plotH + 18, c.ToString(CultureInfo.InvariantCulture));
        }

        Text(sb, Left + (plotW / 2) - 30, y0 + PanelHeight - 10, "concurrency");
        for (var i = 0; i <= 4; i++)
        {
            var v = max * i / 4;
            Line(sb, Left - 5, Y(v), Left, Y(v), "#000");
            Text(sb, 5, Y(v) + 4, Format(v));
        }

        var k = 0;
        foreach (var (name, points) in series)
        {
            var color = Palette[(k + paletteOffset) % Palette.Length];
            var pts = points.OrderBy(p => p.X).ToList();
            sb.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(' ', pts.Select(p => F(X(p.X)) + "," + F(Y(p.Y))))}\"/>\n");
            foreach (var p in pts)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(X(p.X))}\" cy=\"{F(Y(p.Y))}\" r=\"3\" fill=\"{color}\"><title>{Escape(name)} c={p.X}: {Format(p.Y)} {Escape(unit)}</title></circle>\n");
            }

            Legend(sb, y0, k, color, name);
            k++;
        }

    }

    private static void Breakdown(StringBuilder sb, SimulationReport r, int concurrency, int y0)
    {
        var points = r.Points.Where(p => p.Concurrency == concurrency).ToList();
        var perStep = r.WorkloadKind == "serving";
        var title = perStep ? $"issuing thread per step at concurrency {concurrency} (ms)" : "issuing thread, whole transfer (ms)";
        Text(sb, Left, y0 + 20, $"{r.Workload} on {r.Platform}: {title}", bold: true);
        var plotW = Width - Left - Right;
        var plotH = PanelHeight - Top - Bottom;
        var rows = points.Select(p => (p.Series, Values: Values(p, perStep))).ToList();
        var max = Math.Max(1e-9, rows.Max(x => Math.Max(x.Values.Sum(), x.Values[^1])) * 1.05);
        var barH = Math.Min(40.0, plotH / (rows.Count * 1.5));
        Axes(sb, y0, plotW, plotH);
        for (var i = 0; i <= 4; i++)
        {
            var v = max * i / 4;
            var x = Left + (plotW * i / 4.0);
            Line(sb, x, y0 + Top + plotH, x, y0 + Top + plotH + 5, "#000");
            Text(sb, x - 10, y0 + Top + plotH + 18, Format(v));
        }

        for (var i = 0; i < rows.Count; i++)
        {
            var y = y0 + Top + 10 + (i * barH * 1.5);
            var x = (double)Left;
            Text(sb, Left + plotW + 8, y + (barH / 2) + 4, rows[i].Series);
            for (var j = 0; j < Parts.Length; j++)
            {
                var w = plotW * rows[i].Values[j] / max;
                if (w <= 0)
                {
                    continue;
                }

                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(w)}\" height=\"{F(barH)}\" fill=\"{Parts[j].Color}\"><title>{Escape(rows[i].Series)} {Parts[j].Name}: {Format(rows[i].Values[j])} ms</title></rect>\n");
                x += w;
            }
        }

        for (var j = 0; j < Parts.Length; j++)
        {
            Text(sb, Left + (j * 110) + 14, y0 + PanelHeight - 10, Parts[j].Name);
            sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left + (j * 110)}\" y=\"{y0 + PanelHeight - 20}\" width=\"10\" height=\"10\" fill=\"{Parts[j].Color}\"/>\n");
        }
    }

    private static double[] Values(SimulationPoint p, bool perStep)
    {
        var steps = perStep ? p.MakespanMicros / p.LatencyMicros : 1;
        var m = p.Main;
        return [.. new[] { m.Cpu, m.Launch, m.CopyBlocked, m.ApiOverhead, m.Waiting }.Select(v => v / steps / 1e3)];
    }

    private static void Axes(StringBuilder sb, int y0, int plotW, int plotH)
    {
        Line(sb, Left, y0 + Top, Left, y0 + Top + plotH, "#000");
        Line(sb, Left, y0 + Top + plotH, Left + plotW, y0 + Top + plotH, "#000");
    }

    private static void Legend(StringBuilder sb, int y0, int k, string color, string name)
    {
        var y = y0 + Top + 10 + (k * 18);
        Line(sb, Width - Right + 20, y, Width - Right + 40, y, color, 3);
        Text(sb, Width - Right + 45, y + 4, name);
    }

    private static void Line(StringBuilder sb, double x1, double y1, double x2, double y2, string color, int width = 1) =>
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(x1)}\" y1=\"{F(y1)}\" x2=\"{F(x2)}\" y2=\"{F(y2)}\" stroke=\"{color}\" stroke-width=\"{width}\"/>\n");

    private static void Text(StringBuilder sb, double x, double y, string text, bool bold = false) =>
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(x)}\" y=\"{F(y)}\"{(bold ? " font-weight=\"bold\"" : string.Empty)}>{Escape(text)}</text>\n");

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Format(double v) => v >= 100 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&quot;", StringComparison.Ordinal);
}
