using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;

namespace NestMap.Benchmarks;

/// <summary>
/// <c>-- report [section ...]</c>: runs the benchmark suite and rewrites the generated regions of
/// <c>docs/benchmarks.md</c> (<c>&lt;!-- generated:NAME --&gt;</c> … <c>&lt;!-- /generated:NAME --&gt;</c>), leaving the
/// analysis written around them as it is. With no section named, all run (about an hour on 2 cores).
/// </summary>
internal static class BenchmarkReport
{
    /// <summary>The sections, in the order they run: name, what it runs.</summary>
    private static readonly (string Name, Func<Task<string>> Produce)[] Sections =
    [
        ("memory", () => Task.FromResult(Capture(MemoryMeasurement.Run))),
        ("expiry", async () =>
        {
            using var writer = new StringWriter(CultureInfo.InvariantCulture);
            await ExpiryMeasurement.RunAsync(writer);
            return writer.ToString();
        }),
        ("core-throughput", () => Task.FromResult(RunBenchmarks<NestedMapThroughputBenchmarks>())),
        ("expiring-throughput", () => Task.FromResult(RunBenchmarks<ExpiringMapThroughputBenchmarks>())),
        ("churn", () => Task.FromResult(RunBenchmarks<InnerMapChurnBenchmarks>())),
        ("sampling", () => Task.FromResult(Capture(SamplingCostMeasurement.Run) + "\n" + RunBenchmarks<InsertionSamplingBenchmarks>())),
    ];

    public static async Task<int> RunAsync(string[] requested, TextWriter output)
    {
        var unknown = requested.Where(r => !Sections.Any(s => s.Name == r)).ToList();
        if (unknown.Count != 0)
        {
            await output.WriteLineAsync($"Unknown section(s): {string.Join(", ", unknown)}. Sections: {string.Join(", ", Sections.Select(s => s.Name))}.");
            return 2;
        }

        var path = FindBenchmarksDocument();
        var document = await File.ReadAllTextAsync(path);
        foreach (var (name, produce) in Sections.Where(s => requested.Length == 0 || requested.Contains(s.Name)))
        {
            await output.WriteLineAsync($"== {name} ==");
            var text = await produce();
            var stamp = $"Generated {TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} by `dotnet run -c Release --project bench/NestMap.Benchmarks -- report {name}` " +
                $"({Environment.ProcessorCount} CPUs, .NET {Environment.Version}).";
            document = Replace(document, name, $"{stamp}\n\n```\n{text.TrimEnd()}\n```");
            await File.WriteAllTextAsync(path, document);
            await output.WriteLineAsync(text);
        }

        await output.WriteLineAsync($"Updated {path}.");
        return 0;
    }

    /// <summary>Replaces the body of the region <paramref name="name"/>; the region must exist (so that a typo cannot append stray tables).</summary>
    internal static string Replace(string document, string name, string body)
    {
        var region = new Regex($@"(<!-- generated:{Regex.Escape(name)} -->\n).*?(\n<!-- /generated:{Regex.Escape(name)} -->)", RegexOptions.Singleline);
        if (!region.IsMatch(document))
        {
            throw new InvalidOperationException($"docs/benchmarks.md has no region '<!-- generated:{name} -->' ... '<!-- /generated:{name} -->'.");
        }

        return region.Replace(document, m => m.Groups[1].Value + body + m.Groups[2].Value, 1);
    }

    private static string Capture(Action<TextWriter> run)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        run(writer);
        return writer.ToString();
    }

    /// <summary>Runs one benchmark class with its own job attributes and returns its results table.</summary>
    private static string RunBenchmarks<T>()
    {
        var summary = BenchmarkRunner.Run<T>();
        var logger = new AccumulationLogger();
        MarkdownExporter.Console.ExportToLog(summary, logger);
        return ResultsTable(logger.GetLog());
    }

    /// <summary>Keeps the table of a markdown export (the lines that start with '|').</summary>
    private static string ResultsTable(string export)
    {
        var table = new StringBuilder();
        foreach (var line in export.Split('\n'))
        {
            if (line.StartsWith('|'))
            {
                table.AppendLine(line.TrimEnd('\r'));
            }
        }

        return table.ToString();
    }

    private static string FindBenchmarksDocument()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "docs", "benchmarks.md");
            if (File.Exists(Path.Combine(dir.FullName, "NestMap.slnx")) && File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException("Run from inside the repository: docs/benchmarks.md was not found.");
    }
}
