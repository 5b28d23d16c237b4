using System.Diagnostics;
using System.Globalization;

namespace NestMap.Tests;

/// <summary>The <c>nestmap</c> tool, run as users run it: as a process.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task Help_DescribesTheCommands()
    {
        var (exit, output, _) = await RunAsync("demo", "leak", "--help");
        Assert.Equal(0, exit);
        Assert.Contains("--seconds", output, StringComparison.Ordinal);
        Assert.Contains("--rate", output, StringComparison.Ordinal);
        Assert.Contains("--out", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadArguments_AreRefusedWithAMessage()
    {
        var (exit, _, error) = await RunAsync("demo", "leak", "--seconds", "0");
        Assert.NotEqual(0, exit);
        Assert.Contains("--seconds", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DemoLeak_WritesCsvAndChart_AndOnlyNestMapStaysBounded()
    {
        var output = Directory.CreateTempSubdirectory("nestmap-demo-");
        try
        {
            const double rate = 20_000, ttl = 0.25;
            var (exit, stdout, stderr) = await RunAsync(
                "demo", "leak", "--seconds", "3", "--rate", "20000", "--ttl", "0.25", "--out", output.FullName);
            Assert.True(exit == 0, $"exit {exit}: {stdout} {stderr}");
            Assert.True(new FileInfo(Path.Combine(output.FullName, "leak.png")).Length > 1_000, "The chart was written.");

            var rows = File.ReadAllLines(Path.Combine(output.FullName, "leak.csv"))[1..]
                .Select(line => line.Split(','))
                .GroupBy(cells => cells[0])
                .ToDictionary(g => g.Key, g => g.Select(cells => (T: Parse(cells[1]), Entries: Parse(cells[8]), InnerMaps: Parse(cells[9]))).ToList());
            Assert.Equal(["naive", "nestmap", "zombie"], rows.Keys.Order());

            // The naive map keeps every session and the nested ConcurrentDictionary every tenant's inner map, so both
            // keep growing: the second half of the run doubles what the first half left.
            var naive = (Mid: rows["naive"].First(r => r.T >= 1.5).Entries, End: rows["naive"][^1].Entries);
            var zombies = (Mid: rows["zombie"].First(r => r.T >= 1.5).InnerMaps, End: rows["zombie"][^1].InnerMaps);
            Assert.True(naive.End > 1.5 * naive.Mid, $"naive entries {naive}");
            Assert.True(zombies.End > 1.5 * zombies.Mid, $"nested ConcurrentDictionary inner maps {zombies}");

            // ConcurrentNestedMap holds at most the sessions of the last TTL plus one wheel tick (its removal lag,
            // ~1.07 s) plus slack for a late timer, whenever it is sampled: a bound that does not grow with time,
            // far under what the naive map holds at the end.
            var sessionsPerSecond = rate / 2;
            var bound = sessionsPerSecond * (ttl + 1.1 + 0.4);
            var nestMapMax = rows["nestmap"].Max(r => r.Entries);
            Assert.True(nestMapMax <= bound, $"ConcurrentNestedMap held {nestMapMax} entries; the bound is {bound}.");
            Assert.True(naive.End > 1.5 * bound, $"The run is long enough to tell the two apart: naive {naive.End}, bound {bound}.");
            Assert.True(rows["nestmap"].Max(r => r.InnerMaps) <= bound / 5 * 1.2, "ConcurrentNestedMap's outer keys stay within the bound too.");
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    private static double Parse(string value) => double.Parse(value, CultureInfo.InvariantCulture);

    private static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliPath());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output, await error);
    }

    /// <summary>The CLI as built next to this test build (same configuration); the project reference makes sure it is built.</summary>
    private static string CliPath()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "src", "NestMap.Cli", "bin", configuration, "net10.0", "NestMap.Cli.dll");
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException("NestMap.Cli.dll not found; build the solution first.");
    }
}
