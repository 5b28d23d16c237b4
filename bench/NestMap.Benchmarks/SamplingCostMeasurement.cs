using System.Globalization;
using System.Runtime.CompilerServices;

namespace NestMap.Benchmarks;

/// <summary>
/// <c>-- sampling-cost</c>: the cost of insertion-site sampling on insert throughput, measured in paired rounds in one
/// process (the benchmark's workload: 524,288 inserts of new entries into a fresh map, 1,024 outer keys x 512), with
/// sampling off, at 1 in 1,000 and at 1 in 100, called from a shallow stack and from 60 frames deeper.
/// </summary>
/// <remarks>
/// The BenchmarkDotNet table of <see cref="InsertionSamplingBenchmarks"/> runs each case in its own processes one after
/// another; on this shared machine a case's mean moves by 10-20% between processes, more than the few percent to be
/// resolved. Here each round times every case once, in a rotating order, a moment apart, and the figure is the median
/// over rounds of (time with sampling / time without) with a distribution-free 95% interval for that median. A full
/// collection before each timed run (outside the timing) starts every run from the same heap.
/// </remarks>
internal static class SamplingCostMeasurement
{
    private const int Inserts = 1 << 19;
    private const int Rounds = 120;
    private const int WarmupRounds = 5;
    /// <summary>Off, 1 in 1,000, 1 in 100, and the highest rate, which in 524,288 inserts all but never samples: the countdown alone.</summary>
    private static readonly int[] Rates = [0, 1_000, 100, 1 << 30];
    private static readonly object Value = new();

    public static void Run(TextWriter output)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Insertion-site sampling: {Inserts:N0} inserts of new entries into a fresh map per run, {Rounds} paired rounds in one process."));
        output.WriteLine("Ratio = insert time with sampling / without, in the same round (1.05 = 5% slower); median over rounds, with its 95% interval.");
        output.WriteLine();
        output.WriteLine("| stack | sampling | median ratio | 95% interval | ns per insert (median) | sampled inserts per run | points skipped for the time budget per run |");
        output.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var depth in new[] { 0, 60 })
        {
            var times = Rates.ToDictionary(r => r, _ => new List<double>());
            var figures = new Dictionary<int, (long Sampled, long Skipped)>();
            for (var round = 0; round < WarmupRounds + Rounds; round++)
            {
                for (var k = 0; k < Rates.Length; k++)
                {
                    var rate = Rates[(round + k) % Rates.Length];
                    var (nanoseconds, sampled, skipped) = TimeOneRun(rate, depth);
                    if (round >= WarmupRounds)
                    {
                        times[rate].Add(nanoseconds);
                        figures[rate] = (sampled, skipped);
                    }
                }
            }

            foreach (var rate in Rates)
            {
                var ratios = times[rate].Zip(times[0], (with, without) => with / without).Order().ToList();
                var (low, high) = MedianInterval(ratios.Count);
                var stack = depth == 0 ? "shallow" : $"{depth} frames deeper";
                var sampling = rate switch
                {
                    0 => "off",
                    1 << 30 => "1 in 2^30 (the countdown alone)",
                    _ => string.Create(CultureInfo.InvariantCulture, $"1 in {rate:N0}"),
                };
                var (sampled, skipped) = rate == 0 ? (0L, 0L) : figures[rate];
                output.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"| {stack} | {sampling} | {Median(ratios):F3} | {ratios[low]:F3} to {ratios[high]:F3} | {Median(times[rate].Order().ToList()):F0} | {(rate == 0 ? "-" : sampled.ToString("N0", CultureInfo.InvariantCulture))} | {(rate == 0 ? "-" : skipped.ToString("N0", CultureInfo.InvariantCulture))} |"));
            }
        }
    }

    private static (double Nanoseconds, long Sampled, long Skipped) TimeOneRun(int rate, int depth)
    {
        using var map = new ConcurrentNestedMap<long, long, object>(new() { InsertionSiteSampling = rate });
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var start = TimeProvider.System.GetTimestamp();
        InsertAt(map, depth);
        var elapsed = TimeProvider.System.GetElapsedTime(start);
        var sites = rate == 0 ? null : map.Diagnose().InsertionSites;
        return (elapsed.TotalNanoseconds / Inserts, sites?.SampledInserts ?? 0, sites?.SkippedForTimeBudget ?? 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void InsertAt(ConcurrentNestedMap<long, long, object> map, int depth)
    {
        if (depth > 0)
        {
            InsertAt(map, depth - 1);
            return;
        }

        for (long i = 0; i < Inserts; i++)
        {
            map.Set(i & 1023, i >> 10, Value);
        }
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    /// <summary>Ranks of a distribution-free 95% confidence interval for the median of <paramref name="n"/> sorted values.</summary>
    private static (int Low, int High) MedianInterval(int n)
    {
        var half = 1.96 * Math.Sqrt(n) / 2;
        return (Math.Max(0, (int)Math.Floor((n / 2.0) - half)), Math.Min(n - 1, (int)Math.Ceiling((n / 2.0) + half)));
    }
}
