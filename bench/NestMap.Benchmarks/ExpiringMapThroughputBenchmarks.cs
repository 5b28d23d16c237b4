using BenchmarkDotNet.Attributes;
using BitFaster.Caching;
using BitFaster.Caching.Lfu;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;

namespace NestMap.Benchmarks;

/// <summary>
/// Throughput with a time to live (one hour, so nothing expires during the run): ConcurrentNestedMap against the
/// .NET caches people use for expiring nested state, with the nested ConcurrentDictionary (no expiry at all) as the
/// ceiling and baseline. Same key space and workloads as <see cref="NestedMapThroughputBenchmarks"/>.
/// </summary>
/// <remarks>
/// Peers, each as its documentation suggests: <c>MemoryCache</c> with a (outer, inner) tuple key and an absolute
/// expiry relative to now (the key is boxed on every call, as it is for every MemoryCache user with a composite key);
/// BitFaster.Caching's <c>ConcurrentTLru</c> and its <c>ConcurrentLfu</c> built with expire-after-write, both with a
/// capacity above the entry count so that nothing is evicted (checked after the fill). Overwrites keep the TTL.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 2, warmupCount: 3, iterationCount: 8)]
public class ExpiringMapThroughputBenchmarks : ThroughputBenchmarkBase, IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromHours(1);

    private ConcurrentNestedMap<long, long, object> _map = null!;
    private ConcurrentNestedMap<long, long, object> _slidingMap = null!;
    private MemoryCache _memoryCache = null!;
    private ConcurrentTLru<(long, long), object> _tlru = null!;
    private ICache<(long, long), object> _lfu = null!;

    [GlobalSetup(Target = nameof(NestedMapExpireAfterWrite))]
    public void SetupMap()
    {
        CreateKeys();
        _map = new ConcurrentNestedMap<long, long, object>(new() { ExpireAfterWrite = Ttl });
        Fill((o, i) => _map.Set(o, i, Value));
        AssertAllPresent((o, i) => _map.ContainsKey(o, i));
    }

    [GlobalSetup(Target = nameof(NestedMapExpireAfterAccess))]
    public void SetupSlidingMap()
    {
        CreateKeys();
        _slidingMap = new ConcurrentNestedMap<long, long, object>(new() { ExpireAfterAccess = Ttl });
        Fill((o, i) => _slidingMap.Set(o, i, Value));
        AssertAllPresent((o, i) => _slidingMap.ContainsKey(o, i));
    }

    [GlobalSetup(Target = nameof(MemoryCacheTupleKey))]
    public void SetupMemoryCache()
    {
        CreateKeys();
        _memoryCache = new MemoryCache(new MemoryCacheOptions());
        Fill((o, i) => _memoryCache.Set((o, i), Value, Ttl));
        AssertAllPresent((o, i) => _memoryCache.TryGetValue((o, i), out _));
    }

    [GlobalSetup(Target = nameof(BitFasterConcurrentTLru))]
    public void SetupTlru()
    {
        CreateKeys();
        _tlru = new ConcurrentTLru<(long, long), object>(2 * Outers * Inners, Ttl);
        Fill((o, i) => _tlru.AddOrUpdate((o, i), Value));
        AssertAllPresent((o, i) => _tlru.TryGet((o, i), out _));
    }

    [GlobalSetup(Target = nameof(BitFasterConcurrentLfu))]
    public void SetupLfu()
    {
        CreateKeys();
        _lfu = new ConcurrentLfuBuilder<(long, long), object>().WithCapacity(2 * Outers * Inners).WithExpireAfterWrite(Ttl).Build();
        Fill((o, i) => _lfu.AddOrUpdate((o, i), Value));
        AssertAllPresent((o, i) => _lfu.TryGet((o, i), out _));
    }

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long NestedMapExpireAfterWrite() => Run((from, to) => NestedMapSlice(_map, from, to));

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long NestedMapExpireAfterAccess() => Run((from, to) => NestedMapSlice(_slidingMap, from, to));

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long MemoryCacheTupleKey() => Run(MemoryCacheSlice);

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long BitFasterConcurrentTLru() => Run(TlruSlice);

    [Benchmark(OperationsPerInvoke = OpsPerThread)]
    public long BitFasterConcurrentLfu() => Run(LfuSlice);

    /// <inheritdoc/>
    public void Dispose()
    {
        _map?.Dispose();
        _slidingMap?.Dispose();
        _memoryCache?.Dispose();
        GC.SuppressFinalize(this);
    }

    private long MemoryCacheSlice(int from, int to)
    {
        var (outer, inner, write, cache) = (Keys.OpOuter, Keys.OpInner, Keys.OpIsWrite, _memoryCache);
        long hits = 0;
        for (var k = from; k < to; k++)
        {
            if (write[k])
            {
                cache.Set((outer[k], inner[k]), OtherValue, Ttl);
            }
            else if (cache.TryGetValue((outer[k], inner[k]), out _))
            {
                hits++;
            }
        }

        return hits;
    }

    private long TlruSlice(int from, int to)
    {
        var (outer, inner, write, cache) = (Keys.OpOuter, Keys.OpInner, Keys.OpIsWrite, _tlru);
        long hits = 0;
        for (var k = from; k < to; k++)
        {
            if (write[k])
            {
                cache.AddOrUpdate((outer[k], inner[k]), OtherValue);
            }
            else if (cache.TryGet((outer[k], inner[k]), out _))
            {
                hits++;
            }
        }

        return hits;
    }

    private long LfuSlice(int from, int to)
    {
        var (outer, inner, write, cache) = (Keys.OpOuter, Keys.OpInner, Keys.OpIsWrite, _lfu);
        long hits = 0;
        for (var k = from; k < to; k++)
        {
            if (write[k])
            {
                cache.AddOrUpdate((outer[k], inner[k]), OtherValue);
            }
            else if (cache.TryGet((outer[k], inner[k]), out _))
            {
                hits++;
            }
        }

        return hits;
    }
}
