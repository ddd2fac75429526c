using Veil.Bridge.Validation;
using Veil.Cli.Commands;

namespace Veil.Cli.Tests;

/// <summary>
/// The validate table on made-up checks (no simulation, so it runs in milliseconds): every figure printed once, in
/// its role's section, with its error, including those outside tolerance; misses listed again with their reasons.
/// The in-process <c>bridge validate</c> test covers the real figures; this one pins what the printer may not hide.
/// </summary>
public class BridgeValidationTableTests
{
    private static FigureCheck Check(string id, bool calibration, double published, double predicted, string? knownMiss = null) => new(
        new PublishedFigure
        {
            Id = id,
            Claim = "claim of " + id,
            Source = "notes",
            Calibration = calibration,
            Published = published,
            Tolerance = 0.15,
            Measure = FigureMeasure.ThroughputRatio,
            Platforms = ["h100-snp"],
            KnownMiss = knownMiss,
        },
        predicted);

    [Fact]
    public void Every_figure_is_printed_once_in_its_section_with_its_error_misses_included()
    {
        FigureCheck[] checks =
        [
            Check("cal-ok", true, 1.0, 1.01),
            Check("pred-ok", false, 1.0, 0.9),
            Check("pred-miss-explained", false, 1.0, 0.5, "the reason"),
            Check("pred-miss-unexplained", false, 1.0, 2.0),
            Check("pred-ok-with-stale-reason", false, 1.0, 1.0, "old reason"),
        ];
        var o = new StringWriter();
        BridgeTables.Validation(checks, o);
        var text = o.ToString();
        var parts = text.Split("prediction figures", 2);
        Assert.Equal(2, parts.Length);
        var (calibration, prediction) = (parts[0], parts[1].Split("\n\n", 2)[0]);

        Assert.Contains("1 of 1 within tolerance", calibration);
        Assert.Contains("2 of 4 within tolerance", prediction);
        foreach (var c in checks)
        {
            var section = c.Figure.Calibration ? calibration : prediction;
            var row = Assert.Single(section.Split('\n'), l => l.StartsWith(c.Figure.Id + " ", StringComparison.Ordinal));
            Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c.RelativeError * 100:F1}%"), row);
            Assert.DoesNotContain(c.Figure.Id + " ", c.Figure.Calibration ? prediction : calibration);
        }

        Assert.Contains("2 of 5 figures outside tolerance:", text);
        Assert.Contains("- pred-miss-explained (error 50.0%): the reason", text);
        Assert.Contains("- pred-miss-unexplained (error 100.0%): NO REASON RECORDED", text);
        Assert.Contains("- pred-ok-with-stale-reason is within tolerance now", text);
    }
}
