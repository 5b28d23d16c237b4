using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;

namespace NestMap.Benchmarks;

/// <summary>
/// Throughput of a nested map of 1M entries (10,000 outer keys x 100 inner keys, 64-bit random keys, object values)
/// under uniform random access: 100% reads, and 90% reads / 10% overwrites of existing entries, on 1 and 2 threads.
/// </summary>
/// <remarks>
/// The baseline (in <see cref="ThroughputBenchmarkBase"/>) is a nested ConcurrentDictionary, the structure
/// ConcurrentNestedMap replaces. The per-peer loops are written out one by one on purpose: a shared abstraction (an
/// interface or a delegate per operation) would add a call that the JIT treats differently per peer.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 3, warmupCount: 3, iterationCount: 8)]
public class NestedMapThroughputBenchmarks : ThroughputBenchmarkBase, IDisposable
{
    private ConcurrentDictionary<(long, long), object> _flat = null!;
    private Dictionary<(long, long), object> _locked = null!;
    private readonly Lock _lock = new();
    private ConcurrentNestedMap<long, long, object> _map = null!;

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

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long FlatConcurrentDictionary() => Run(FlatConcurrentDictionarySlice);

    private long FlatConcurrentDictionarySlice(int from, int to)
    {
        var (outer, inner, write, map) = (Keys.OpOuter, Keys.OpInner, Keys.OpIsWrite, _flat);
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
        var (outer, inner, write, map) = (Keys.OpOuter, Keys.OpInner, Keys.OpIsWrite, _locked);
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
    public long ConcurrentNestedMap() => Run((from, to) => NestedMapSlice(_map, from, to));

    /// <inheritdoc/>
    public void Dispose()
    {
        _map?.Dispose();
        GC.SuppressFinalize(this);
    }
}
