using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace NestMap.Cli.Demo;

/// <summary>What one scenario process reports at its end.</summary>
internal sealed record LeakResult(
    string Scenario,
    long HeapBytes,
    long RssBytes,
    long Entries,
    long InnerMaps,
    long EmptyInnerMaps,
    int Gen0,
    int Gen1,
    int Gen2,
    long AllocatedBytes,
    long Writes);

[JsonSerializable(typeof(LeakResult))]
internal sealed partial class LeakJsonContext : JsonSerializerContext;

/// <summary><c>nestmap demo leak</c>: runs the three scenarios, each in its own process, and reports.</summary>
internal static class LeakDemo
{
    public static async Task<int> RunAsync(LeakSettings settings, DirectoryInfo output, CancellationToken cancellation)
    {
        if (settings.Validate() is { } problem)
        {
            await Console.Error.WriteLineAsync(problem);
            return 2;
        }

        output.Create();
        if (Console.IsOutputRedirected)
        {
            // Spectre assumes 80 columns when it cannot ask a terminal; a log file takes the table's natural width.
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 120);
        }

        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture,
            $"Session churn at [bold]{settings.Rate:N0}[/] writes/s for [bold]{settings.Seconds}[/] s per scenario (sessions live {settings.TtlSeconds:0.##} s, {LeakSettings.SessionsPerTenant} per tenant), each scenario in its own process with a {Gen0Budget / 1048576} MiB gen0 budget, so that its own GCs sample the heap often.");
        var results = new List<LeakResult>();
        var csvFiles = new List<(LeakScenarioKind Kind, FileInfo File)>();
        await AnsiConsole.Progress().AutoClear(false).StartAsync(async progress =>
        {
            foreach (var kind in Enum.GetValues<LeakScenarioKind>())
            {
                var task = progress.AddTask(Describe(kind), maxValue: settings.Seconds);
                var csv = new FileInfo(Path.Combine(output.FullName, $"leak-{kind.ToString().ToLowerInvariant()}.csv"));
                results.Add(await RunChildAsync(kind, settings, csv, task, cancellation));
                csvFiles.Add((kind, csv));
            }
        });

        var csvPath = Path.Combine(output.FullName, "leak.csv");
        var series = await MergeCsvAsync(csvFiles, csvPath, cancellation);
        var pngPath = Path.Combine(output.FullName, "leak.png");
        LeakChart.Save(series, settings, pngPath);
        PrintSummary(results);
        AnsiConsole.MarkupLine("Sizes in MiB. naive: nested Dictionary under a lock, nothing removed. nested CD: nested ConcurrentDictionary, sessions removed at the TTL, emptied inner maps left behind. NestMap: ConcurrentNestedMap with the TTL as sliding expiry.");
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, $"Samples: [link]{csvPath}[/]  Chart: [link]{pngPath}[/]");
        return 0;
    }

    /// <summary>The gen0 budget of the scenario processes (DOTNET_GCgen0size): small, so that the workload's own collections come several times a second.</summary>
    private const int Gen0Budget = 4 * 1048576;

    internal static string ShortName(LeakScenarioKind kind) => kind switch
    {
        LeakScenarioKind.Naive => "naive",
        LeakScenarioKind.Zombie => "nested CD",
        _ => "NestMap",
    };

    internal static string Describe(LeakScenarioKind kind) => kind switch
    {
        LeakScenarioKind.Naive => "naive Dictionary + lock",
        LeakScenarioKind.Zombie => "nested ConcurrentDictionary",
        _ => "ConcurrentNestedMap + TTL",
    };

    private static async Task<LeakResult> RunChildAsync(LeakScenarioKind kind, LeakSettings settings, FileInfo csv, ProgressTask task, CancellationToken cancellation)
    {
        var start = ChildStart(
        [
            "demo", "leak-scenario", "--scenario", kind.ToString(), "--csv", csv.FullName,
            "--seconds", settings.Seconds.ToString(CultureInfo.InvariantCulture),
            "--rate", settings.Rate.ToString(CultureInfo.InvariantCulture),
            "--ttl", settings.TtlSeconds.ToString(CultureInfo.InvariantCulture),
        ]);
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var stdout = child.StandardOutput.ReadToEndAsync(cancellation);
        var stderr = child.StandardError.ReadToEndAsync(cancellation);
        var time = TimeProvider.System;
        var began = time.GetTimestamp();
        while (!child.HasExited)
        {
            task.Value = Math.Min(settings.Seconds, time.GetElapsedTime(began).TotalSeconds);
            await Task.WhenAny(child.WaitForExitAsync(cancellation), Task.Delay(100, cancellation));
        }

        await child.WaitForExitAsync(cancellation);
        task.Value = settings.Seconds;
        var line = (await stdout).Split('\n').FirstOrDefault(l => l.StartsWith(LeakScenario.ResultPrefix, StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"The {kind} scenario failed (exit code {child.ExitCode}): {await stderr}");
        }

        return JsonSerializer.Deserialize(line[LeakScenario.ResultPrefix.Length..], LeakJsonContext.Default.LeakResult)
            ?? throw new InvalidOperationException($"The {kind} scenario reported nothing.");
    }

    /// <summary>Starts this same program again: through <c>dotnet</c> when it runs as a library, directly when it runs from its apphost or as a tool.</summary>
    private static ProcessStartInfo ChildStart(IEnumerable<string> arguments)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this process is unknown.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["DOTNET_GCgen0size"] = Gen0Budget.ToString("X", CultureInfo.InvariantCulture);
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(LeakDemo).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    /// <summary>Merges the per-scenario CSVs into one with a scenario column, and returns the series for the chart.</summary>
    private static async Task<Dictionary<LeakScenarioKind, List<double[]>>> MergeCsvAsync(
        List<(LeakScenarioKind Kind, FileInfo File)> files, string path, CancellationToken cancellation)
    {
        var series = new Dictionary<LeakScenarioKind, List<double[]>>();
        await using var writer = new StreamWriter(path);
        await writer.WriteLineAsync("scenario," + LeakScenario.CsvHeader);
        foreach (var (kind, file) in files)
        {
            var rows = series[kind] = [];
            foreach (var line in (await File.ReadAllLinesAsync(file.FullName, cancellation)).Skip(1).Where(l => l.Length > 0))
            {
                await writer.WriteLineAsync($"{kind.ToString().ToLowerInvariant()},{line}");
                rows.Add([.. line.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture))]);
            }

            file.Delete();
        }

        return series;
    }

    private static void PrintSummary(List<LeakResult> results)
    {
        var table = new Table().Title("After the run").AddColumns(
            "scenario", "heap", "RSS", "entries", "outer keys", "empty inner", "GC 0/1/2", "allocated");
        table.Border(TableBorder.Simple);
        foreach (var column in table.Columns)
        {
            column.NoWrap();
            column.Alignment = column == table.Columns[0] ? Justify.Left : Justify.Right;
        }

        foreach (var r in results)
        {
            var kind = Enum.Parse<LeakScenarioKind>(r.Scenario);
            table.AddRow(
                Markup.Escape(ShortName(kind)),
                MiB(r.HeapBytes),
                MiB(r.RssBytes),
                r.Entries.ToString("N0", CultureInfo.InvariantCulture),
                r.InnerMaps.ToString("N0", CultureInfo.InvariantCulture),
                r.EmptyInnerMaps.ToString("N0", CultureInfo.InvariantCulture),
                string.Create(CultureInfo.InvariantCulture, $"{r.Gen0}/{r.Gen1}/{r.Gen2}"),
                MiB(r.AllocatedBytes));
        }

        AnsiConsole.Write(table);
    }

    private static string MiB(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:N1}");
}
