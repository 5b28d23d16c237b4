using System.Collections.Concurrent;

namespace NestMap.Benchmarks;

/// <summary>
/// A diagnostic beside the BenchmarkDotNet suite: single-threaded random reads of the 1M-entry shape, with
/// ConcurrentNestedMap and nested ConcurrentDictionary built in one process and timed in alternating rounds, reporting
/// the median of the per-round time ratios.
/// </summary>
/// <remarks>
/// BenchmarkDotNet measures each benchmark in its own processes, one after another, so on a shared machine whose load
/// drifts over minutes a ratio can move a lot between runs. Alternating rounds inside one process pair each
/// measurement of the map with one of the baseline taken a moment apart, which cancels that drift. It does not
/// replace the BenchmarkDotNet table (both structures share one heap here); it tells whether a gap is real.
/// </remarks>
internal static class PairedReadMeasurement
{
    private const int Rounds = 60;
    private const int WarmupRounds = 10;

    public static void Run(TextWriter output)
    {
        var keys = new KeySpace(outers: 10_000, innersPerOuter: 100, operations: 1 << 17, writeFraction: 0);
        output.WriteLine($"Single-threaded random reads, 1M entries, {Rounds - WarmupRounds} paired rounds in one process,");
        output.WriteLine("ConcurrentNestedMap time / nested ConcurrentDictionary time (below 1: the map is faster):");

        // Which structure is built first changes where each lands in the heap; measure both orders.
        foreach (var mapFirst in new[] { false, true })
        {
            var (median, lower, upper, baseline) = Measure(keys, mapFirst);
            output.WriteLine($"  built {(mapFirst ? "map first   " : "nested first")}: median {median:F2} (quartiles {lower:F2} to {upper:F2}); nested ConcurrentDictionary {baseline:F0} ns per read");
        }
    }

    private static (double Median, double Lower, double Upper, double Baseline) Measure(KeySpace keys, bool mapFirst)
    {
        var value = new object();
        var (outerKeys, innerKeys) = (keys.OpOuter, keys.OpInner);
        ConcurrentDictionary<long, ConcurrentDictionary<long, object>>? nested = null;
        ConcurrentNestedMap<long, long, object>? map = null;
        for (var step = 0; step < 2; step++)
        {
            if ((step == 0) == mapFirst)
            {
                map = new ConcurrentNestedMap<long, long, object>();
                keys.ForEachPair((o, i) => map.Set(o, i, value));
            }
            else
            {
                nested = new ConcurrentDictionary<long, ConcurrentDictionary<long, object>>();
                keys.ForEachPair((o, i) => nested.GetOrAdd(o, _ => new ConcurrentDictionary<long, object>())[i] = value);
            }

            Compact();
        }

        long ReadNested()
        {
            long hits = 0;
            for (var k = 0; k < outerKeys.Length; k++)
            {
                if (nested!.TryGetValue(outerKeys[k], out var inner) && inner.TryGetValue(innerKeys[k], out _))
                {
                    hits++;
                }
            }

            return hits;
        }

        long ReadMap()
        {
            long hits = 0;
            for (var k = 0; k < outerKeys.Length; k++)
            {
                if (map!.TryGetValue(outerKeys[k], innerKeys[k], out _))
                {
                    hits++;
                }
            }

            return hits;
        }

        var ratios = new List<double>();
        var baseline = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var nestedTime = Time(ReadNested, outerKeys.Length);
            var mapTime = Time(ReadMap, outerKeys.Length);
            if (round >= WarmupRounds)
            {
                ratios.Add(mapTime / nestedTime);
                baseline.Add(nestedTime);
            }
        }

        ratios.Sort();
        baseline.Sort();
        nested = null;
        map = null;
        Compact();
        return (ratios[ratios.Count / 2], ratios[ratios.Count / 4], ratios[ratios.Count * 3 / 4], baseline[baseline.Count / 2]);
    }

    private static double Time(Func<long> read, int operations)
    {
        var start = TimeProvider.System.GetTimestamp();
        for (var repeat = 0; repeat < 3; repeat++)
        {
            GC.KeepAlive(read());
        }

        return TimeProvider.System.GetElapsedTime(start).TotalNanoseconds / (3.0 * operations);
    }

    private static void Compact() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
}
