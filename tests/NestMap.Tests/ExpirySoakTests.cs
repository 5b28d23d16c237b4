using Microsoft.Extensions.Time.Testing;

namespace NestMap.Tests;

/// <summary>
/// Barrier-started soak tests of expiry and bounds: writers, readers and a clock thread (whose advances fire the map's
/// timer, so maintenance slices run concurrently with the writers) on a few outer keys, each test ending in the full
/// integrity check (tables, wheels and counts agree).
/// </summary>
public sealed class ExpirySoakTests
{
    private const int Outers = 3;
    private static readonly int Writers = Math.Max(3, Environment.ProcessorCount);

    [Fact]
    public void WritesRacingExpiryOfTheLastEntry_AreNeverLost()
    {
        // Churners keep writing short-lived entries, so the sweeper keeps emptying inner maps and retiring them while
        // writers add long-lived entries to the same outer keys. Every acknowledged long-lived write must survive.
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, long, long>(new() { TimeProvider = time, MaxRemovalsPerSlice = 64 });
        var kept = new List<(int Outer, long Inner, long Value)>[Writers + 1];
        var done = 0;
        SoakTests.RunTogether(Writers + 1, thread =>
        {
            if (thread == Writers)
            {
                // The clock: each advance passes a tick, so the timer fires and sweeps inside Advance.
                while (Volatile.Read(ref done) < Writers)
                {
                    time.Advance(TimeSpan.FromSeconds(2));
                    map.RunMaintenanceSlice();
                }

                return;
            }

            var mine = kept[thread] = [];
            try
            {
                for (var n = 0; n < 40_000; n++)
                {
                    var outer = n % Outers;
                    if (thread % 2 == 0)
                    {
                        map.Set(outer, -1 - n, n, TimeSpan.FromSeconds(1));
                        map.TryGetValue(outer, -1 - n, out _);
                        continue;
                    }

                    long inner = ((long)thread << 32) | (uint)n;
                    if (n % 3 == 0)
                    {
                        Assert.True(map.TryAdd(outer, inner, n, Timeout.InfiniteTimeSpan));
                    }
                    else
                    {
                        map.Set(outer, inner, n, Timeout.InfiniteTimeSpan);
                    }

                    if (n % 4 == 3)
                    {
                        mine.Add((outer, inner, n));
                    }
                    else
                    {
                        Assert.True(map.TryRemove(outer, inner, out var removed));
                        Assert.Equal(n, removed);
                    }
                }
            }
            finally
            {
                Interlocked.Increment(ref done);
            }
        });

        time.Advance(TimeSpan.FromSeconds(5));
        while (map.RunMaintenanceSlice(waitForRunning: true) > 0)
        {
        }

        var expected = kept.Where(k => k is not null).SelectMany(k => k).ToList();
        foreach (var (outer, inner, value) in expected)
        {
            Assert.True(map.TryGetValue(outer, inner, out var actual), $"Acknowledged write ({outer}, {inner}) was lost.");
            Assert.Equal(value, actual);
        }

        Assert.Equal(expected.Count, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void BoundedSlidingMap_UnderConcurrentChurn_StaysWithinItsBounds()
    {
        var time = new FakeTimeProvider();
        const int maxEntries = 40;
        const int perOuter = 12;
        const int maxOuterKeys = 4;
        using var map = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            ExpireAfterAccess = TimeSpan.FromSeconds(20),
            ExpireOuterAfterIdle = TimeSpan.FromSeconds(30),
            MaxEntries = maxEntries,
            MaxEntriesPerOuter = perOuter,
            MaxOuterKeys = maxOuterKeys,
            CapacityPolicy = CapacityPolicy.EvictSoonestExpiring,
            OnRemoved = r =>
            {
                if (r.Reason == RemovalReason.Removed && r.Value < 0)
                {
                    throw new InvalidOperationException("a callback failure must not disturb the map");
                }
            },
        });
        var done = 0;
        SoakTests.RunTogether(Writers + 1, thread =>
        {
            if (thread == Writers)
            {
                while (Volatile.Read(ref done) < Writers)
                {
                    time.Advance(TimeSpan.FromSeconds(1));
                }

                return;
            }

            var random = new Random(thread);
            try
            {
                for (var n = 0; n < 30_000; n++)
                {
                    var outer = random.Next(6);
                    var inner = random.Next(20);
                    switch (random.Next(6))
                    {
                        case 0: map.Set(outer, inner, n); break;
                        case 1: map.Set(outer, inner, -n, TimeSpan.FromMilliseconds(random.Next(1, 5_000))); break;
                        case 2: map.TryAdd(outer, inner, n); break;
                        case 3: map.TryRemove(outer, inner, out _); break;
                        case 4: map.AddOrUpdate(outer, inner, n, (_, _, c) => c + 1); break;
                        default: map.TryGetValue(outer, inner, out _); break;
                    }

                    if (n % 1_000 == 0)
                    {
                        map.RunMaintenanceSlice();
                    }
                }
            }
            finally
            {
                Interlocked.Increment(ref done);
            }
        });

        Assert.Empty(map.CheckIntegrity());

        // Exact per outer key; the map-wide bounds may be passed by the threads adding at one instant (documented).
        Assert.All(map.OuterKeys, outer => Assert.InRange(map.CountOf(outer), 1, perOuter));
        Assert.InRange(map.Count, 0, maxEntries + Writers);
        Assert.InRange(map.OuterCount, 0, maxOuterKeys + Writers);

        // Everything idles out: no entry, no outer key, no wheel node is left.
        time.Advance(TimeSpan.FromMinutes(2));
        while (map.RunMaintenanceSlice(waitForRunning: true) > 0)
        {
        }

        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void IdleExpiryRacingResizes_LeavesNoZombie()
    {
        // Only outer keys expire (no entry wheel): the sweeper retires idle outer keys while writers grow their inner
        // maps past several resizes and drain them again (shrinking), so the idle node keeps moving to successors.
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, ExpireOuterAfterIdle = TimeSpan.FromSeconds(1) });
        var done = 0;
        SoakTests.RunTogether(Writers + 1, thread =>
        {
            if (thread == Writers)
            {
                while (Volatile.Read(ref done) < Writers)
                {
                    time.Advance(TimeSpan.FromSeconds(1));
                }

                return;
            }

            try
            {
                for (var round = 0; round < 60; round++)
                {
                    var outer = round % Outers;
                    for (var i = 0; i < 200; i++)
                    {
                        map.Set(outer, (thread * 1_000) + i, i);
                    }

                    for (var i = 0; i < 200; i++)
                    {
                        map.TryRemove(outer, (thread * 1_000) + i, out _);
                    }
                }
            }
            finally
            {
                Interlocked.Increment(ref done);
            }
        });

        Assert.Empty(map.CheckIntegrity());

        // The timer's slice runs inside Advance unless a slice queued earlier on the thread pool is running (it read
        // the clock before the advance, and its follow-up comes later): drain what is due now before counting.
        time.Advance(TimeSpan.FromSeconds(5));
        while (map.RunMaintenanceSlice(waitForRunning: true) > 0)
        {
        }

        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }
}
