using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;

namespace NestMap.Benchmarks;

/// <summary>
/// Throughput of a nested map of 1M entries (10,000 outer keys x 100 inner keys, 64-bit random keys, object values)
/// under uniform random access: 100% reads, and 90% reads / 10% overwrites of existing entries, on 1 and 2 threads.
/// </summary>
/// <remarks>
/// Each invocation runs <see cref="OpsPerThread"/> operations on each thread, and the reported time is the
/// invocation's wall time divided by one thread's operations: with perfect scaling it is the same on 2 threads as on
/// 1, and the aggregate throughput is Threads / Mean. The baseline is a nested ConcurrentDictionary, the
/// structure ConcurrentNestedMap replaces. The per-peer loops are written out one by one on purpose: a shared
/// abstraction (an interface or a delegate per operation) would add a call that the JIT treats differently per peer.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 3, warmupCount: 3, iterationCount: 8)]
public class NestedMapThroughputBenchmarks
{
    private const int Outers = 10_000;
    private const int Inners = 100;
    private const int OpsPerThread = 1 << 17;

    private static readonly object Value = new();
    private static readonly object OtherValue = new();

    private KeySpace _keys = null!;
    private ConcurrentDictionary<long, ConcurrentDictionary<long, object>> _nested = null!;
    private ConcurrentDictionary<(long, long), object> _flat = null!;
    private Dictionary<(long, long), object> _locked = null!;
    private readonly Lock _lock = new();
    private ConcurrentNestedMap<long, long, object> _map = null!;

    /// <summary>Gets or sets the workload.</summary>
    [Params("Read100", "Read90Write10")]
    public string Workload { get; set; } = "Read100";

    /// <summary>Gets or sets the number of threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    [GlobalSetup(Target = nameof(NestedConcurrentDictionary))]
    public void SetupNested()
    {
        CreateKeys();
        _nested = new ConcurrentDictionary<long, ConcurrentDictionary<long, object>>();
        Fill((o, i) => _nested.GetOrAdd(o, _ => new ConcurrentDictionary<long, object>())[i] = Value);
    }

    [GlobalSetup(Target = nameof(FlatConcurrentDictionary))]
    public void SetupFlat()
    {
        CreateKeys();
        _flat = new ConcurrentDictionary<(long, long), object>();
        Fill((o, i) => _flat[(o, i)] = Value);
    }

    [GlobalSetup(Target = nameof(LockedDictionary))]
    public void SetupLocked()
    {
        CreateKeys();
        _locked = [];
        Fill((o, i) => _locked[(o, i)] = Value);
    }

    [GlobalSetup(Target = nameof(ConcurrentNestedMap))]
    public void SetupMap()
    {
        CreateKeys();
        _map = new ConcurrentNestedMap<long, long, object>();
        Fill((o, i) => _map.Set(o, i, Value));
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = OpsPerThread)]
    public long NestedConcurrentDictionary() => Run(NestedConcurrentDictionarySlice);

    private long NestedConcurrentDictionarySlice(int from, int to)
    {
        var (outer, inner, write, map) = (_keys.OpOuter, _keys.OpInner, _keys.OpIsWrite, _nested);
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

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long FlatConcurrentDictionary() => Run(FlatConcurrentDictionarySlice);

    private long FlatConcurrentDictionarySlice(int from, int to)
    {
        var (outer, inner, write, map) = (_keys.OpOuter, _keys.OpInner, _keys.OpIsWrite, _flat);
        long hits = 0;
        for (var k = from; k < to; k++)
        {
            if (write[k])
            {
                map[(outer[k], inner[k])] = OtherValue;
            }
            else if (map.TryGetValue((outer[k], inner[k]), out _))
            {
                hits++;
            }
        }

        return hits;
    }

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long LockedDictionary() => Run(LockedDictionarySlice);

    private long LockedDictionarySlice(int from, int to)
    {
        var (outer, inner, write, map) = (_keys.OpOuter, _keys.OpInner, _keys.OpIsWrite, _locked);
        long hits = 0;
        for (var k = from; k < to; k++)
        {
            lock (_lock)
            {
                if (write[k])
                {
                    map[(outer[k], inner[k])] = OtherValue;
                }
                else if (map.TryGetValue((outer[k], inner[k]), out _))
                {
                    hits++;
                }
            }
        }

        return hits;
    }

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long ConcurrentNestedMap() => Run(ConcurrentNestedMapSlice);

    private long ConcurrentNestedMapSlice(int from, int to)
    {
        var (outer, inner, write, map) = (_keys.OpOuter, _keys.OpInner, _keys.OpIsWrite, _map);
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

    private void CreateKeys() =>
        _keys = new KeySpace(Outers, Inners, OpsPerThread * Threads, Workload == "Read100" ? 0.0 : 0.1);

    private void Fill(Action<long, long> set)
    {
        _keys.ForEachPair(set);

        // Every structure leaves garbage behind as it grows (resized tables, copied nodes). Compact the heap so that
        // each is measured as a long-running service would have it after a full GC, not interleaved with its growth
        // debris, which would favour whichever peer happens to grow with fewer copies.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>Runs one thread's slice of the operation sequence inline, or each thread's slice in parallel.</summary>
    private long Run(Func<int, int, long> slice)
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
}
