using BitFaster.Caching.Lru;
using Microsoft.Extensions.Caching.Memory;

namespace NestMap.Benchmarks;

/// <summary>
/// Measures expiry on the real clock (<see cref="TimeProvider.System"/>): how late entries are physically removed after
/// their deadline (the lag), on an idle map and on a busy one, and how long each maintenance slice takes while 1M
/// entries expire at the same instant, beside the one full scan that MemoryCache and ConcurrentTLru do for the same set.
/// </summary>
/// <remarks>These are latencies of single events on a shared machine, printed as measured; the tests never assert a time.</remarks>
internal static class ExpiryMeasurement
{
    private static readonly object Value = new();

    public static async Task RunAsync(TextWriter output)
    {
        var time = TimeProvider.System;
        var tick = 1L << (int)Math.Ceiling(Math.Log2(time.TimestampFrequency));
        output.WriteLine($"Expiry on the system clock ({Environment.ProcessorCount} CPUs, .NET {Environment.Version}); wheel tick {Ms(time, tick):F0} ms.");
        output.WriteLine();
        output.WriteLine("Lag from deadline to physical removal, 100,000 entries (1,000 outer x 100 inner), TTLs uniform in [1 s, 6 s):");
        output.WriteLine("| map | p50 ms | p99 ms | max ms | not removed after 30 s |");
        output.WriteLine("|---|---:|---:|---:|---:|");
        await LagAsync(output, "idle (no call after the fill: only the timer)", busy: false);
        await LagAsync(output, "busy (two threads read and write other keys)", busy: true);
        output.WriteLine();
        await SlicesAsync(output);
    }

    private static async Task LagAsync(TextWriter output, string name, bool busy)
    {
        var time = TimeProvider.System;
        const int outers = 1_000, inners = 100;
        var deadlines = new long[outers * inners];
        var lags = new long[outers * inners];
        using var map = new ConcurrentNestedMap<int, int, object>(new()
        {
            OnRemoved = r => lags[(r.Outer * inners) + r.Inner] = time.GetTimestamp() - deadlines[(r.Outer * inners) + r.Inner],
        });
        var random = new Random(7);
        for (var o = 0; o < outers; o++)
        {
            for (var i = 0; i < inners; i++)
            {
                var ttl = TimeSpan.FromMilliseconds(1_000 + random.Next(5_000));
                deadlines[(o * inners) + i] = time.GetTimestamp() + (long)(ttl.TotalSeconds * time.TimestampFrequency);
                map.Set(o, i, Value, ttl);
            }
        }

        using var stop = new CancellationTokenSource();
        var load = busy
            ? Enumerable.Range(0, 2).Select(t => Task.Run(() =>
            {
                var r = new Random(t);
                while (!stop.IsCancellationRequested)
                {
                    var o = outers + r.Next(100);
                    map.Set(o, r.Next(100), Value, TimeSpan.FromHours(1));
                    map.TryGetValue(o, r.Next(100), out _);
                }
            })).ToArray()
            : [];

        var start = time.GetTimestamp();
        while (CountRemaining(map, outers) > 0 && time.GetElapsedTime(start) < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await Task.WhenAll(load);
        Array.Sort(lags);
        output.WriteLine($"| {name} | {Ms(time, lags[lags.Length / 2]):F0} | {Ms(time, lags[(int)(lags.Length * 0.99)]):F0} | {Ms(time, lags[^1]):F0} | {CountRemaining(map, outers):N0} |");
    }

    /// <summary>The entries still present under the measured outer keys (the busy load writes to others).</summary>
    private static long CountRemaining(ConcurrentNestedMap<int, int, object> map, int outers)
    {
        long remaining = 0;
        for (var o = 0; o < outers; o++)
        {
            remaining += map.CountOf(o);
        }

        return remaining;
    }

    private static async Task SlicesAsync(TextWriter output)
    {
        var time = TimeProvider.System;
        var ttl = TimeSpan.FromSeconds(1);
        output.WriteLine("1M entries (1,000 outer x 1,000 inner) expiring at once; removal work per call:");
        output.WriteLine("| structure | calls | longest call | p99 call | median call | total |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|");

        // Warm-up: the first slices of a process run code the JIT has not optimised yet.
        using (var warm = new ConcurrentNestedMap<int, int, object>(new() { ExpireAfterWrite = TimeSpan.FromMilliseconds(1) }))
        {
            for (var n = 0; n < 200_000; n++)
            {
                warm.Set(n % 100, n, Value);
            }

            warm.Dispose();
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            while (warm.Count > 0)
            {
                warm.RunMaintenanceSlice();
            }
        }

        using (var map = new ConcurrentNestedMap<int, int, object>(new() { ExpireAfterWrite = ttl }))
        {
            Fill((o, i) => map.Set(o, i, Value));

            // Only our calls sweep: the timer is stopped, so each slice can be timed alone.
            map.Dispose();
            await Task.Delay(TimeSpan.FromSeconds(3));
            var durations = new List<long>();
            var gcPauseBefore = GC.GetTotalPauseDuration();
            var longestGcPause = TimeSpan.Zero;
            while (map.Count > 0)
            {
                var pauseBefore = GC.GetTotalPauseDuration();
                var started = time.GetTimestamp();
                map.RunMaintenanceSlice();
                durations.Add(time.GetTimestamp() - started);
                var pause = GC.GetTotalPauseDuration() - pauseBefore;
                longestGcPause = pause > longestGcPause ? pause : longestGcPause;
            }

            var gcPauses = GC.GetTotalPauseDuration() - gcPauseBefore;
            output.WriteLine($"(GC pauses during the slices: {gcPauses.TotalMilliseconds:F1} ms in all, the longest inside one slice {longestGcPause.TotalMilliseconds:F1} ms; shrinking inner maps allocate)");
            durations.Sort();
            output.WriteLine($"| ConcurrentNestedMap, slices of at most 1,000 | {durations.Count:N0} | {Us(time, durations[^1]):N0} µs | {Us(time, durations[(int)(durations.Count * 0.99)]):N0} µs | {Us(time, durations[durations.Count / 2]):N0} µs | {Ms(time, durations.Sum()):N0} ms |");
        }

        using (var cache = new MemoryCache(new MemoryCacheOptions()))
        {
            Fill((o, i) => cache.Set((o, i), Value, ttl));
            await Task.Delay(TimeSpan.FromSeconds(3));
            var started = time.GetTimestamp();
            cache.Compact(0.0); // removes the expired entries: one scan of all of them
            var elapsed = time.GetTimestamp() - started;
            output.WriteLine($"| MemoryCache, Compact(0) (its expiry scan, all entries) | 1 | {Us(time, elapsed):N0} µs | - | - | {Ms(time, elapsed):N0} ms |");
        }

        var tlru = new ConcurrentTLru<(int, int), object>(2_000_000, ttl);
        Fill((o, i) => tlru.AddOrUpdate((o, i), Value));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var trimStarted = time.GetTimestamp();
        tlru.Policy.ExpireAfterWrite.Value!.TrimExpired();
        var trim = time.GetTimestamp() - trimStarted;
        output.WriteLine($"| BitFaster ConcurrentTLru, TrimExpired (all entries) | 1 | {Us(time, trim):N0} µs | - | - | {Ms(time, trim):N0} ms |");
    }

    private static void Fill(Action<int, int> set)
    {
        for (var o = 0; o < 1_000; o++)
        {
            for (var i = 0; i < 1_000; i++)
            {
                set(o, i);
            }
        }
    }

    private static double Ms(TimeProvider time, long units) => units * 1_000.0 / time.TimestampFrequency;

    private static double Us(TimeProvider time, long units) => units * 1_000_000.0 / time.TimestampFrequency;
}
