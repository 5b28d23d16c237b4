using System.Collections.Concurrent;
using BitFaster.Caching.Lfu;
using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;

namespace NestMap.Benchmarks;

/// <summary>
/// Measures heap bytes per entry: the managed heap after a full GC with the structure alive, minus the heap before
/// it was built, divided by its entries. Every entry holds the same value object, so the figure is the structure's own
/// cost (keys, nodes, buckets, inner maps), as for the flat ConcurrentDictionary's ~59 B quoted in the issue.
/// </summary>
internal static class MemoryMeasurement
{
    private static readonly object Value = new();

    public static void Run(TextWriter output)
    {
        (string Name, int Outers, int Inners)[] shapes =
        [
            ("1M entries: 10,000 outer x 100 inner", 10_000, 100),
            ("100,000 outer keys x 1 entry", 100_000, 1),
        ];

        output.WriteLine($"Heap bytes per entry after a full GC ({Environment.ProcessorCount} CPUs, .NET {Environment.Version}).");
        output.WriteLine();
        foreach (var (name, outers, inners) in shapes)
        {
            output.WriteLine($"{name}:");
            output.WriteLine("| structure | bytes per entry |");
            output.WriteLine("|---|---:|");
            var keys = new KeySpace(outers, inners, operations: 0, writeFraction: 0);
            Report(output, "ConcurrentNestedMap", () =>
            {
                var map = new ConcurrentNestedMap<long, long, object>();
                keys.ForEachPair((o, i) => map.Set(o, i, Value));
                return map;
            }, keys);
            Report(output, "nested ConcurrentDictionary", () =>
            {
                var map = new ConcurrentDictionary<long, ConcurrentDictionary<long, object>>();
                keys.ForEachPair((o, i) => map.GetOrAdd(o, _ => new ConcurrentDictionary<long, object>())[i] = Value);
                return map;
            }, keys);
            Report(output, "flat ConcurrentDictionary<(long, long), object>", () =>
            {
                var map = new ConcurrentDictionary<(long, long), object>();
                keys.ForEachPair((o, i) => map[(o, i)] = Value);
                return map;
            }, keys);
            Report(output, "Dictionary<(long, long), object> (under a lock)", () =>
            {
                var map = new Dictionary<(long, long), object>();
                keys.ForEachPair((o, i) => map[(o, i)] = Value);
                return map;
            }, keys);
            output.WriteLine();
        }

        RunWithTtl(output);
    }

    /// <summary>The same 1M entries, each with a time to live (one hour), in the map and in the caches that offer expiry.</summary>
    private static void RunWithTtl(TextWriter output)
    {
        var ttl = TimeSpan.FromHours(1);
        var keys = new KeySpace(10_000, 100, operations: 0, writeFraction: 0);
        var capacity = 2 * 10_000 * 100;
        output.WriteLine("1M entries (10,000 outer x 100 inner), each with a one-hour TTL:");
        output.WriteLine("| structure | bytes per entry |");
        output.WriteLine("|---|---:|");
        Report(output, "ConcurrentNestedMap, ExpireAfterWrite", () =>
        {
            var map = new ConcurrentNestedMap<long, long, object>(new() { ExpireAfterWrite = ttl });
            keys.ForEachPair((o, i) => map.Set(o, i, Value));
            return map;
        }, keys);
        Report(output, "ConcurrentNestedMap, per-call TTL on a map without a default", () =>
        {
            var map = new ConcurrentNestedMap<long, long, object>();
            keys.ForEachPair((o, i) => map.Set(o, i, Value, ttl));
            return map;
        }, keys);
        Report(output, "BitFaster ConcurrentLfu, expire after write", () =>
        {
            var cache = new ConcurrentLfuBuilder<(long, long), object>().WithCapacity(capacity).WithExpireAfterWrite(ttl).Build();
            keys.ForEachPair((o, i) => cache.AddOrUpdate((o, i), Value));
            return cache;
        }, keys);
        Report(output, "BitFaster ConcurrentTLru", () =>
        {
            var cache = new ConcurrentTLru<(long, long), object>(capacity, ttl);
            keys.ForEachPair((o, i) => cache.AddOrUpdate((o, i), Value));
            return cache;
        }, keys);
        Report(output, "MemoryCache, tuple key, absolute expiry", () =>
        {
            var cache = new MemoryCache(new MemoryCacheOptions());
            keys.ForEachPair((o, i) => cache.Set((o, i), Value, ttl));
            return cache;
        }, keys);
        output.WriteLine();
    }

    private static void Report(TextWriter output, string name, Func<object> build, KeySpace keys)
    {
        var entries = (long)keys.Outers.Length * keys.Inners.Length;
        var before = HeapBytes();
        var structure = build();
        var after = HeapBytes();
        GC.KeepAlive(structure);
        output.WriteLine($"| {name} | {(after - before) / (double)entries:F1} |");
    }

    private static long HeapBytes()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
