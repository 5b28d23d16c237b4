using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;

namespace NestMap.Benchmarks;

/// <summary>
/// What the throughput benchmarks share: 1M entries (10,000 outer keys x 100 inner keys, 64-bit random keys, object
/// values), a uniform random operation sequence (100% reads, or 90% reads / 10% overwrites of existing entries), and
/// 1 or 2 threads, each running <see cref="OpsPerThread"/> operations per invocation.
/// </summary>
/// <remarks>
/// The reported time is the invocation's wall time divided by one thread's operations: with perfect scaling it is the
/// same on 2 threads as on 1, and the aggregate throughput is Threads / Mean. Every derived benchmark has the same
/// baseline, the structure people use today: a nested ConcurrentDictionary (without expiry).
/// </remarks>
public abstract class ThroughputBenchmarkBase
{
    private ConcurrentDictionary<long, ConcurrentDictionary<long, object>> _nested = null!;

    protected const int Outers = 10_000;
    protected const int Inners = 100;
    protected const int OpsPerThread = 1 << 17;

    protected static readonly object Value = new();
    protected static readonly object OtherValue = new();

    /// <summary>Gets or sets the workload.</summary>
    [Params("Read100", "Read90Write10")]
    public string Workload { get; set; } = "Read100";

    /// <summary>Gets or sets the number of threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    protected KeySpace Keys { get; private set; } = null!;

    [GlobalSetup(Target = nameof(NestedConcurrentDictionary))]
    public void SetupNested()
    {
        CreateKeys();
        _nested = new ConcurrentDictionary<long, ConcurrentDictionary<long, object>>();
        Fill((o, i) => _nested.GetOrAdd(o, _ => new ConcurrentDictionary<long, object>())[i] = Value);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = OpsPerThread)]
    public long NestedConcurrentDictionary() => Run(NestedConcurrentDictionarySlice);

    /// <summary>The operation loop of a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/>, whatever its options.</summary>
    protected long NestedMapSlice(ConcurrentNestedMap<long, long, object> map, int from, int to)
    {
        var (outer, inner, write) = (Keys.OpOuter, Keys.OpInner, Keys.OpIsWrite);
        long hits = 0;
        for (var k = from; k < to; k++)
        {
            if (write[k])
            {
                map.Set(outer[k], inner[k], OtherValue);
            }
            else if (map.TryGetValue(outer[k], inner[k], out _))
            {
                hits++;
            }
        }

        return hits;
    }

    protected void CreateKeys() =>
        Keys = new KeySpace(Outers, Inners, OpsPerThread * Threads, Workload == "Read100" ? 0.0 : 0.1);

    protected void Fill(Action<long, long> set)
    {
        Keys.ForEachPair(set);

        // Every structure leaves garbage behind as it grows (resized tables, copied nodes). Compact the heap so that
        // each is measured as a long-running service would have it after a full GC, not interleaved with its growth
        // debris, which would favour whichever peer happens to grow with fewer copies.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>Checks after the fill that every pair reads back, so that no peer is measured on misses.</summary>
    protected void AssertAllPresent(Func<long, long, bool> contains)
    {
        var missing = 0;
        Keys.ForEachPair((o, i) => missing += contains(o, i) ? 0 : 1);
        if (missing != 0)
        {
            throw new InvalidOperationException($"{missing} entries are missing after the fill: the structure is too small or evicted.");
        }
    }

    /// <summary>Runs one thread's slice of the operation sequence inline, or each thread's slice in parallel.</summary>
    protected long Run(Func<int, int, long> slice)
    {
        if (Threads == 1)
        {
            return slice(0, OpsPerThread);
        }

        long total = 0;
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
            Interlocked.Add(ref total, slice(t * OpsPerThread, (t + 1) * OpsPerThread)));
        return total;
    }

    private long NestedConcurrentDictionarySlice(int from, int to)
    {
        var (outer, inner, write, map) = (Keys.OpOuter, Keys.OpInner, Keys.OpIsWrite, _nested);
        long hits = 0;
        for (var k = from; k < to; k++)
        {
            if (map.TryGetValue(outer[k], out var innerMap))
            {
                if (write[k])
                {
                    innerMap[inner[k]] = OtherValue;
                }
                else if (innerMap.TryGetValue(inner[k], out _))
                {
                    hits++;
                }
            }
        }

        return hits;
    }
}
