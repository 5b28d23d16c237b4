namespace NestMap.Cli.Demo;

/// <summary>Draws the demo's chart with ScottPlot: managed heap (solid) and resident set (dashed) over time, one colour per scenario.</summary>
internal static class LeakChart
{
    private const int HeapColumn = 1;
    private const int RssColumn = 2;

    public static void Save(Dictionary<LeakScenarioKind, List<double[]>> series, LeakSettings settings, string path)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var (kind, rows) in series)
        {
            var color = palette.GetColor(index++);
            var seconds = rows.Select(r => r[0]).ToArray();
            var heap = plot.Add.ScatterLine(seconds, rows.Select(r => r[HeapColumn] / 1048576.0).ToArray());
            heap.LegendText = $"{LeakDemo.Describe(kind)}: heap";
            heap.Color = color;
            heap.LineWidth = 2;
            var rss = plot.Add.ScatterLine(seconds, rows.Select(r => r[RssColumn] / 1048576.0).ToArray());
            rss.LegendText = $"{LeakDemo.Describe(kind)}: RSS";
            rss.Color = color;
            rss.LinePattern = ScottPlot.LinePattern.Dashed;
        }

        plot.Title($"Session churn at {settings.Rate:N0} writes/s, sessions live {settings.TtlSeconds:0.##} s");
        plot.XLabel("seconds");
        plot.YLabel("MiB (heap after the last GC; resident set dashed)");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, 1000, 600);
    }
}
