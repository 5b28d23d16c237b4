using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Time.Testing;

namespace NestMap.Tests;

/// <summary>
/// Expiry, bounds and removal callbacks, driven by a <see cref="FakeTimeProvider"/>: time moves only when a test
/// advances it, and the map's timer fires inside <see cref="FakeTimeProvider.Advance"/>, so no test sleeps.
/// </summary>
public sealed class ExpiryTests
{
    /// <summary>The wheel's tick on a fake clock (10^7 units per second rounds up to 2^24 units, ~1.68 s).</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1 << 24);

    [Fact]
    public void ExpireAfterWrite_ReadAtTheDeadline_IsAbsentBeforeAnySweep()
    {
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<string, string, int>(new() { TimeProvider = time, ExpireAfterWrite = TimeSpan.FromSeconds(10) });
        map.Set("tenant", "a", 1);

        time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.True(map.TryGetValue("tenant", "a", out var value));
        Assert.Equal(1, value);

        // Exactly at the deadline the entry is gone for every read, whether or not the sweeper has run.
        time.Advance(TimeSpan.FromTicks(1));
        Assert.False(map.TryGetValue("tenant", "a", out _));
        Assert.False(map.ContainsKey("tenant", "a"));
        Assert.Throws<KeyNotFoundException>(() => map["tenant", "a"]);
        Assert.Empty(map);
        Assert.Empty(map.SnapshotOf("tenant"));
        Assert.False(map.TryUpdate("tenant", "a", 2, 1));
    }

    [Fact]
    public void IdleMap_IsEmptiedByTheTimer_WithNoFurtherCalls()
    {
        var time = new FakeTimeProvider();
        var removed = new ConcurrentQueue<NestedRemoval<int, int, string>>();
        using var map = new ConcurrentNestedMap<int, int, string>(new()
        {
            TimeProvider = time,
            ExpireAfterWrite = TimeSpan.FromMinutes(5),
            OnRemoved = removed.Enqueue,
        });
        for (var i = 0; i < 100; i++)
        {
            map.Set(i % 7, i, $"v{i}");
        }

        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        Assert.Equal(100, map.Count);

        // Nobody touches the map: only its timer can remove the entries, within a tick of their deadline.
        time.Advance(TimeSpan.FromSeconds(1) + Tick);
        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.Equal(100, removed.Count);
        Assert.All(removed, r => Assert.Equal(RemovalReason.Expired, r.Reason));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void IdleMap_KeepsExpiring_WhenItsTimerFiresEarly()
    {
        // System timers count whole milliseconds and may fire just before the timestamp they were set for: the slice
        // then finds nothing due yet, and the timer must still be armed again.
        var fake = new FakeTimeProvider();
        // (Early by half a second here, so that some deadlines fall between the early firing and the due time.)
        var time = new EarlyTimers(fake, TimeSpan.FromMilliseconds(500));
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time });
        for (var i = 0; i < 50; i++)
        {
            map.Set(i % 5, i, i, TimeSpan.FromMilliseconds(1_000 + (100 * i)));
        }

        for (var step = 0; step < 200 && map.Count > 0; step++)
        {
            fake.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(0, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void ExpireAfterAccess_ReadsKeepAnEntryAlive_AndIdlenessEndsIt()
    {
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, ExpireAfterAccess = TimeSpan.FromSeconds(30) });
        map.Set(1, 1, 10);
        map.Set(1, 2, 20);

        // Entry 1 is read every 10 s for two minutes, entry 2 never: 2 goes, 1 stays, through the timer's sweeps.
        for (var step = 0; step < 12; step++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.True(map.TryGetValue(1, 1, out _), $"read at step {step}");
        }

        Assert.False(map.ContainsKey(1, 2));
        Assert.Equal(1, map.Count);

        time.Advance(TimeSpan.FromSeconds(30) + Tick);
        Assert.False(map.TryGetValue(1, 1, out _));
        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void PerCallTtl_OverridesTheDefault_BothWays()
    {
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, ExpireAfterWrite = TimeSpan.FromHours(1) });
        map.Set(1, 1, 1);
        map.Set(1, 2, 2, TimeSpan.FromSeconds(5));
        Assert.True(map.TryAdd(1, 3, 3, TimeSpan.FromDays(2)));
        map.Set(1, 4, 4, Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(map.ContainsKey(1, 2));
        Assert.True(map.ContainsKey(1, 1));

        time.Advance(TimeSpan.FromHours(1));
        Assert.False(map.ContainsKey(1, 1));
        Assert.True(map.ContainsKey(1, 3));
        Assert.True(map.ContainsKey(1, 4));
        Assert.Equal(2, map.Count);

        time.Advance(TimeSpan.FromDays(2));
        Assert.False(map.ContainsKey(1, 3));
        Assert.True(map.ContainsKey(1, 4));
        Assert.Equal(1, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void PerCallTtl_WorksOnAMapMadeWithoutExpiry()
    {
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time });
        map.Set(1, 1, 1);
        map.Set(1, 2, 2, TimeSpan.FromSeconds(3));
        map.Set(1, 1, 11, TimeSpan.FromSeconds(3)); // a plain entry gets a deadline
        map.Set(2, 1, 1, TimeSpan.FromSeconds(3));

        time.Advance(TimeSpan.FromSeconds(3) + Tick);
        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void OverwriteWithAShorterTtl_MovesTheDeadlineEarlier()
    {
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time });
        map.Set(1, 1, 1, TimeSpan.FromDays(1));
        map.Set(1, 1, 2, TimeSpan.FromSeconds(2));

        time.Advance(TimeSpan.FromSeconds(2) + Tick);
        Assert.Equal(0, map.Count); // swept by the timer well before the first deadline's bucket
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void ExpireOuterAfterIdle_RemovesUntouchedOuterKeysWhole()
    {
        var time = new FakeTimeProvider();
        var removed = new ConcurrentQueue<NestedRemoval<string, int, int>>();
        using var map = new ConcurrentNestedMap<string, int, int>(new()
        {
            TimeProvider = time,
            ExpireOuterAfterIdle = TimeSpan.FromSeconds(30),
            OnRemoved = removed.Enqueue,
        });
        for (var i = 0; i < 10; i++)
        {
            map.Set("busy", i, i);
            map.Set("idle", i, i);
        }

        // "busy" is read every 10 s (reads count as touches); "idle" is never touched again.
        for (var step = 0; step < 6; step++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.True(map.TryGetValue("busy", step, out _));
        }

        Assert.True(map.ContainsOuter("busy"));
        Assert.False(map.ContainsOuter("idle"));
        Assert.Equal(10, map.Count);
        Assert.Equal(10, removed.Count);
        Assert.All(removed, r => Assert.Equal(("idle", RemovalReason.Expired), (r.Outer, r.Reason)));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void MillionEntriesExpiringAtOnce_AreDrainedInBoundedSlices()
    {
        var time = new FakeTimeProvider();
        const int sliceBound = 1_000;
        using var map = new ConcurrentNestedMap<int, int, object>(new()
        {
            TimeProvider = time,
            ExpireAfterWrite = TimeSpan.FromMinutes(1),
            MaxRemovalsPerSlice = sliceBound,
        });
        var value = new object();
        for (var outer = 0; outer < 1_000; outer++)
        {
            for (var inner = 0; inner < 1_000; inner++)
            {
                map.Set(outer, inner, value);
            }
        }

        // The timer's slice runs inside Advance; the backlog continues on the thread pool and in our own calls.
        time.Advance(TimeSpan.FromMinutes(1) + Tick);
        Assert.False(map.ContainsKey(0, 0));
        // Our calls wait for a slice the pool is running and then run the next one themselves. Who removes how much is
        // up to the scheduler (the pool may do it all while this thread waits), so only the bound and the end are asserted.
        for (var calls = 0; map.Count > 0 && calls < 100_000; calls++)
        {
            map.RunMaintenanceSlice(waitForRunning: true);
        }

        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.InRange(map.LargestSlice, 1, sliceBound);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void ThrowingCallback_IsCounted_AndCleanupGoesOn()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        using var map = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            OnRemoved = _ =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("callback failure");
            },
        });
        for (var i = 0; i < 50; i++)
        {
            map.Set(i % 5, i, i);
        }

        Assert.True(map.TryRemove(0, 0, out _));
        map.Set(1, 1, 100); // replaced

        time.Advance(TimeSpan.FromSeconds(10) + Tick);
        Assert.Equal(0, map.Count);
        Assert.Equal(51, calls); // 1 removed + 1 replaced + 49 expired
        Assert.Equal(51, map.RemovalCallbackFailures);
        Assert.Empty(map.CheckIntegrity());

        map.Set(9, 9, 9); // the map still works
        Assert.True(map.ContainsKey(9, 9));
    }

    [Fact]
    public void OnRemoved_ReportsEveryReason_OutsideTheLocks()
    {
        var time = new FakeTimeProvider();
        var removed = new List<NestedRemoval<int, int, int>>();
        ConcurrentNestedMap<int, int, int>? self = null;
        using var map = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            MaxEntriesPerOuter = 2,
            CapacityPolicy = CapacityPolicy.EvictSoonestExpiring,
            OnRemoved = r =>
            {
                removed.Add(r);

                // Outside every lock: calling back into the map from another thread must not block.
                Assert.True(Task.Run(() => self!.CountOf(r.Outer)).Wait(TimeSpan.FromSeconds(30)));
            },
        });
        self = map;

        map.Set(1, 1, 1);
        map.Set(1, 1, 2);                 // Replaced (value 1)
        Assert.True(map.TryRemove(1, 1, out _)); // Removed (value 2)
        map.Set(2, 1, 1, TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1) + Tick); // Expired
        map.Set(3, 1, 1);
        time.Advance(TimeSpan.FromSeconds(1));
        map.Set(3, 2, 2);
        time.Advance(TimeSpan.FromSeconds(1));
        map.Set(3, 3, 3);                 // Evicted: (3, 1), the oldest written without a deadline
        Assert.Equal(2, map.RemoveOuter(3)); // OuterRemoved x2
        map.Set(4, 1, 1);
        map.Clear();                      // Cleared

        Assert.Equal(
            [
                (1, 1, 1, RemovalReason.Replaced),
                (1, 1, 2, RemovalReason.Removed),
                (2, 1, 1, RemovalReason.Expired),
                (3, 1, 1, RemovalReason.Evicted),
                (3, 2, 2, RemovalReason.OuterRemoved),
                (3, 3, 3, RemovalReason.OuterRemoved),
                (4, 1, 1, RemovalReason.Cleared),
            ],
            removed.Select(r => (r.Outer, r.Inner, r.Value, r.Reason)).Order().ToArray());
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void MaxEntries_Reject_RefusesNewEntries_AndKeepsEverything()
    {
        using var map = new ConcurrentNestedMap<int, int, int>(new() { MaxEntries = 3 });
        map.Set(1, 1, 1);
        map.Set(1, 2, 2);
        map.Set(2, 1, 3);

        Assert.False(map.TryAdd(2, 2, 4));
        var error = Assert.Throws<NestedMapCapacityException>(() => map.Set(3, 1, 5));
        Assert.Equal("MaxEntries", error.Bound);
        Assert.Equal(3, error.Limit);
        Assert.Contains("NESTMAP001", error.Message, StringComparison.Ordinal);
        Assert.Throws<NestedMapCapacityException>(() => map.GetOrAdd(3, 1, 5));

        map.Set(1, 1, 10); // overwriting needs no room
        Assert.Equal(10, map[1, 1]);
        Assert.Equal(3, map.Count);
        Assert.Equal(2, map.OuterCount); // the refused write to outer key 3 left no empty inner map behind
        Assert.Empty(map.CheckIntegrity());

        Assert.True(map.TryRemove(1, 2, out _));
        Assert.True(map.TryAdd(2, 2, 4));
    }

    [Fact]
    public void MaxEntries_Evict_RemovesTheLeastRecentlyUsed_WithSlidingExpiry()
    {
        var time = new FakeTimeProvider();
        var evicted = new List<(int, int)>();
        using var map = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            ExpireAfterAccess = TimeSpan.FromHours(1),
            MaxEntries = 3,
            CapacityPolicy = CapacityPolicy.EvictSoonestExpiring,
            OnRemoved = r =>
            {
                if (r.Reason == RemovalReason.Evicted)
                {
                    evicted.Add((r.Outer, r.Inner));
                }
            },
        });
        map.Set(1, 1, 1);
        time.Advance(TimeSpan.FromMinutes(1));
        map.Set(1, 2, 2);
        time.Advance(TimeSpan.FromMinutes(1));
        map.Set(2, 1, 3);
        time.Advance(TimeSpan.FromMinutes(1));
        map.Set(1, 1, 1); // (1, 1) is now the most recently written

        map.Set(3, 1, 4);
        Assert.Equal([(1, 2)], evicted);
        Assert.Equal(3, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void MaxOuterKeys_RejectsANewOuterKey_OrEvictsTheIdlest()
    {
        using (var strict = new ConcurrentNestedMap<int, int, int>(new() { MaxOuterKeys = 2 }))
        {
            strict.Set(1, 1, 1);
            strict.Set(2, 1, 1);
            strict.Set(2, 2, 2); // an existing outer key takes more entries
            Assert.False(strict.TryAdd(3, 1, 1));
            Assert.Equal("MaxOuterKeys", Assert.Throws<NestedMapCapacityException>(() => strict.Set(3, 1, 1)).Bound);
            Assert.Equal(2, strict.OuterCount);
            Assert.Empty(strict.CheckIntegrity());
        }

        var time = new FakeTimeProvider();
        using var lenient = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            MaxOuterKeys = 2,
            ExpireOuterAfterIdle = TimeSpan.FromHours(1),
            CapacityPolicy = CapacityPolicy.EvictSoonestExpiring,
        });
        lenient.Set(1, 1, 1);
        time.Advance(TimeSpan.FromMinutes(1));
        lenient.Set(2, 1, 1);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(lenient.ContainsKey(1, 1)); // outer key 1 is touched: 2 is now the idlest
        lenient.Set(3, 1, 1);
        Assert.True(lenient.ContainsOuter(1));
        Assert.False(lenient.ContainsOuter(2));
        Assert.True(lenient.ContainsOuter(3));
        Assert.Empty(lenient.CheckIntegrity());
    }

    [Theory]
    [InlineData("MaxOuterKeys")]
    [InlineData("MaxEntries")]
    public void Reject_CountsNothingThatHasExpired_EvenBeforeItIsSwept(string bound)
    {
        var time = new FakeTimeProvider();
        var removed = new List<(int, int, RemovalReason)>();
        using var map = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            ExpireOuterAfterIdle = TimeSpan.FromMinutes(1),
            MaxOuterKeys = bound == "MaxOuterKeys" ? 2 : null,
            MaxEntries = bound == "MaxEntries" ? 2 : null,
            OnRemoved = r => removed.Add((r.Outer, r.Inner, r.Reason)),
        });
        map.Set(1, 1, 1);
        map.Set(2, 1, 1);
        Assert.False(map.TryAdd(3, 1, 1)); // full while both outer keys are alive
        map.Dispose(); // no timer: the idle outer keys stay in place until a write meets them
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, map.OuterCount); // not swept yet

        // Both outer keys are past their idle deadline, gone for every read: they must not refuse a live one.
        Assert.True(map.TryAdd(3, 1, 1));
        map.Set(4, 1, 1);
        Assert.Equal(2, map.OuterCount);
        Assert.Equal([(1, 1, RemovalReason.Expired), (2, 1, RemovalReason.Expired)], removed.Order());
        Assert.Equal(bound, Assert.Throws<NestedMapCapacityException>(() => map.Set(5, 1, 1)).Bound);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void MaxEntriesPerOuter_IsExact_AndEvictsTheSoonestExpiringOfThatOuterKey()
    {
        using (var strict = new ConcurrentNestedMap<int, int, int>(new() { MaxEntriesPerOuter = 2 }))
        {
            strict.Set(1, 1, 1);
            strict.Set(1, 2, 2);
            Assert.False(strict.TryAdd(1, 3, 3));
            Assert.Equal("MaxEntriesPerOuter", Assert.Throws<NestedMapCapacityException>(() => strict.Set(1, 3, 3)).Bound);
            strict.Set(2, 1, 1); // other outer keys have their own room
            Assert.Equal(3, strict.Count);
        }

        var time = new FakeTimeProvider();
        using var lenient = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            MaxEntriesPerOuter = 2,
            CapacityPolicy = CapacityPolicy.EvictSoonestExpiring,
        });
        lenient.Set(1, 1, 1, TimeSpan.FromMinutes(10));
        lenient.Set(1, 2, 2, TimeSpan.FromMinutes(1));
        lenient.Set(1, 3, 3, TimeSpan.FromMinutes(5));
        Assert.Equal([1, 3], lenient.SnapshotOf(1).Keys.Order());

        // A bound of one entry: the only entry makes room for its successor, and the outer key never disappears.
        using var single = new ConcurrentNestedMap<int, int, int>(new() { MaxEntriesPerOuter = 1, CapacityPolicy = CapacityPolicy.EvictSoonestExpiring });
        single.Set(1, 1, 1);
        single.Set(1, 2, 2);
        Assert.Equal([2], single.SnapshotOf(1).Keys);
        Assert.Empty(single.CheckIntegrity());
    }

    [Fact]
    public void ExpiredEntry_CountsAsAbsent_ForEveryWrite()
    {
        var time = new FakeTimeProvider();
        var removed = new List<RemovalReason>();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, OnRemoved = r => removed.Add(r.Reason) });
        map.Set(1, 1, 1, TimeSpan.FromSeconds(1));
        map.Set(1, 2, 2, TimeSpan.FromSeconds(1));
        map.Set(1, 3, 3, TimeSpan.FromSeconds(1));
        map.Set(1, 9, 9); // keeps the outer key alive
        map.Dispose();    // no timer: the expired entries stay in place until a write meets them
        time.Advance(TimeSpan.FromSeconds(5));

        Assert.True(map.TryAdd(1, 1, 10));
        Assert.Equal(20, map.GetOrAdd(1, 2, 20));
        Assert.Equal(30, map.AddOrUpdate(1, 3, 30, (_, _, _) => throw new InvalidOperationException("an expired entry was updated")));
        Assert.Equal([9, 10, 20, 30], map.SnapshotOf(1).Values.Order());
        Assert.Equal([RemovalReason.Expired, RemovalReason.Expired, RemovalReason.Expired], removed);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void Dispose_StopsTheTimer_ButExpiredEntriesAreStillNeverReturned()
    {
        var time = new FakeTimeProvider();
        var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, ExpireAfterWrite = TimeSpan.FromSeconds(1) });
        map.Set(1, 1, 1);
        map.Dispose();
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(1, map.Count); // not swept: no timer
        Assert.False(map.TryGetValue(1, 1, out _));
        map.Set(2, 2, 2); // a write runs the overdue slice itself
        Assert.False(map.ContainsOuter(1));
        Assert.Equal(1, map.Count);
    }

    [Fact]
    public void Timer_HoldsTheMapWeakly()
    {
        var time = new FakeTimeProvider();
        var reference = MakeAbandonedMap(time);
        for (var attempt = 0; attempt < 10 && IsAlive(reference); attempt++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(IsAlive(reference), "An unreferenced map with an armed timer was kept alive.");

        // The timer fires once more, finds its map gone and ends itself.
        time.Advance(TimeSpan.FromMinutes(2));
    }

    [Fact]
    public void WritesAtTimestampZero_StillArmTheTimerAndEvict()
    {
        // A timestamp of 0 is a valid time (this fake starts there); a write made at it must do its after-write work.
        var time = new FakeTimeProvider(DateTimeOffset.MinValue);
        Assert.Equal(0, time.GetTimestamp());
        using var map = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            ExpireAfterWrite = TimeSpan.FromSeconds(10),
            MaxEntries = 2,
            CapacityPolicy = CapacityPolicy.EvictSoonestExpiring,
        });
        map.Set(1, 1, 1);
        map.Set(1, 2, 2);
        map.Set(1, 3, 3);
        Assert.Equal(2, map.Count); // evicted down to the bound after the third write

        // Nobody touches the map again: only the timer the writes armed can remove the entries.
        time.Advance(TimeSpan.FromSeconds(10) + Tick);
        Assert.Equal(0, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void ResizeAndUnlink_NeverCallTheOuterComparer()
    {
        var time = new FakeTimeProvider();
        var outerComparer = new CountdownComparer();
        using var map = new ConcurrentNestedMap<string, int, int>(new()
        {
            TimeProvider = time,
            OuterComparer = outerComparer,
            ExpireAfterWrite = TimeSpan.FromMinutes(1),
            ExpireOuterAfterIdle = TimeSpan.FromMinutes(5),
        });
        map.Set("o", 1, 1);
        map.Set("o", 2, 2); // the smallest table (2 buckets) is full now

        // The third entry grows the map: the write looks the outer key up (one hash, one equality check), and the swap
        // of the grown successor finds the old map by reference. With the comparer failing from its third call on,
        // the write must go through, with the wheels handed over to the successor.
        outerComparer.ThrowAfter(2);
        map.Set("o", 3, 3);
        outerComparer.ThrowAfter(null);
        Assert.Equal(3, map.CountOf("o"));
        Assert.Empty(map.CheckIntegrity());

        // Unlinking the emptied map (here by expiry, in a maintenance slice that has no key to hash) does not hash either.
        outerComparer.ThrowAfter(0);
        time.Advance(TimeSpan.FromMinutes(1) + Tick);
        outerComparer.ThrowAfter(null);
        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.Empty(map.CheckIntegrity()); // includes the count of failed slices: none
    }

    [Fact]
    public void SliceThatThrows_IsCounted_AndTheTimerStillRetries()
    {
        var time = new FakeTimeProvider();
        var clock = new FailingClock(time);
        var removed = new ConcurrentQueue<NestedRemoval<string, int, int>>();
        using var map = new ConcurrentNestedMap<string, int, int>(new()
        {
            TimeProvider = clock,
            ExpireOuterAfterIdle = TimeSpan.FromMinutes(1),
            OnRemoved = removed.Enqueue,
        });
        map.Set("o", 1, 1);

        // The timer's slice finds the idle outer key due, but its first step, reading the clock, throws. Nobody touches
        // the map afterwards: the failed slice must have re-armed the timer, and the retry succeeds.
        clock.FailNext();
        time.Advance(TimeSpan.FromMinutes(1) + Tick);
        Assert.Equal(1, map.MaintenanceFailures);

        // A slice that could not read the clock knows no later time to wait for: its retry is due at once, and runs on
        // the thread pool (a bounded wait for it, not a timing assertion).
        time.Advance(Tick + Tick);
        Assert.True(SpinWait.SpinUntil(() => map.OuterCount == 0, TimeSpan.FromSeconds(30)), "The failed slice was never retried.");
        Assert.Equal(0, map.OuterCount);
        Assert.Equal(0, map.Count);
        Assert.Equal(RemovalReason.Expired, Assert.Single(removed).Reason);
        Assert.Equal(["1 maintenance slices failed with an exception."], map.CheckIntegrity());
    }

    [Fact]
    public void TimerChange_ThatRunsACallbackInline_DoesNotHoldTheTimerLock()
    {
        // FakeTimeProvider runs every due callback of any of its timers inside ITimer.Change, on the calling thread.
        // Here such a callback waits for another thread that writes to the map and so needs to set the timer too.
        var fake = new FakeTimeProvider();
        var time = new InlineOnChange(fake);
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time });
        var otherWriteDone = false;
        time.RunOnNextChange(() =>
        {
            var other = new Thread(() => map.Set(2, 2, 2, TimeSpan.FromSeconds(1)));
            other.Start();
            otherWriteDone = other.Join(TimeSpan.FromSeconds(5));
        });

        map.Set(1, 1, 1, TimeSpan.FromMinutes(1)); // arms the timer: its Change runs the callback above
        Assert.True(otherWriteDone, "A callback run inside ITimer.Change waited on a write blocked by the map's timer lock.");

        // The other write's earlier deadline reached the timer: nobody touches the map, and its entry is swept.
        fake.Advance(TimeSpan.FromSeconds(1) + Tick);
        Assert.Equal(1, map.Count);
        Assert.True(map.ContainsKey(1, 1));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void IdleExpiredOuterKey_IsAbsentForEveryRead_BeforeAnySweep()
    {
        var time = new FakeTimeProvider();
        var removed = new ConcurrentQueue<NestedRemoval<string, string, int>>();
        using var map = new ConcurrentNestedMap<string, string, int>(new()
        {
            TimeProvider = time,
            ExpireOuterAfterIdle = TimeSpan.FromMinutes(1),
            OnRemoved = removed.Enqueue,
        });
        map.Set("tenant", "a", 1);
        map.Set("tenant", "b", 2);
        map.Set("other", "c", 3);

        time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(map.TryGetValue("other", "c", out _)); // keeps "other" alive; "tenant" idles on
        time.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));
        Assert.Equal(2, map.CountOf("tenant"));

        // Exactly at the idle deadline the outer key is gone with its entries for every read, swept or not (the
        // timer fires only at the end of the deadline's tick), and reading it does not bring it back.
        time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(3, map.Count); // nothing swept yet
        Assert.False(map.TryGetValue("tenant", "a", out _));
        Assert.False(map.ContainsKey("tenant", "b"));
        Assert.False(map.ContainsOuter("tenant"));
        Assert.Equal(0, map.CountOf("tenant"));
        Assert.Empty(map.SnapshotOf("tenant"));
        Assert.Equal(["other"], map.OuterKeys);
        Assert.Equal([new NestedEntry<string, string, int>("other", "c", 3)], map);
        Assert.False(map.TryUpdate("tenant", "a", 10, 1));
        Assert.Equal(1, map.CountOf("other"));
        Assert.Empty(removed);

        time.Advance(Tick);
        Assert.Equal(1, map.Count);
        Assert.Equal(1, map.OuterCount);
        Assert.Equal(["a", "b"], removed.Select(r => r.Inner).Order());
        Assert.All(removed, r => Assert.Equal(RemovalReason.Expired, r.Reason));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void WriteToIdleExpiredOuterKey_StartsItAfresh()
    {
        var time = new FakeTimeProvider();
        var removed = new ConcurrentQueue<NestedRemoval<int, int, int>>();
        using var map = new ConcurrentNestedMap<int, int, int>(new()
        {
            TimeProvider = time,
            ExpireOuterAfterIdle = TimeSpan.FromMinutes(1),
            OnRemoved = removed.Enqueue,
        });
        map.Set(1, 1, 1);
        map.Set(1, 2, 2);
        map.Set(2, 1, 1);
        map.Set(3, 1, 1);
        map.Set(4, 1, 1);
        time.Advance(TimeSpan.FromMinutes(1)); // every outer key at its idle deadline, none swept yet

        // A write replaces the expired outer key: the old entries go now, as expired, and do not come back.
        map.Set(1, 3, 3);
        Assert.Equal(1, map.CountOf(1));
        Assert.False(map.ContainsKey(1, 1));
        Assert.Equal([1, 2], removed.Select(r => r.Inner).Order());
        Assert.All(removed, r => Assert.Equal(RemovalReason.Expired, r.Reason));

        // The same for the other writes: an update of an expired outer key's entry adds it afresh.
        Assert.Equal(5, map.AddOrUpdate(2, 1, 5, (_, _, current) => current + 100));
        Assert.True(map.TryAdd(3, 1, 7));
        Assert.Equal(7, map[3, 1]);

        // Removing from an expired outer key removes nothing live (RemoveOuter still takes the expired entries out).
        Assert.False(map.TryRemove(4, 1, out _));
        Assert.Equal(4, removed.Count);
        Assert.Equal(0, map.RemoveOuter(4));
        Assert.Equal(5, removed.Count);
        Assert.All(removed, r => Assert.Equal(RemovalReason.Expired, r.Reason));

        Assert.Equal(3, map.Count);
        Assert.Equal(3, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
        time.Advance(TimeSpan.FromMinutes(1) + Tick);
        Assert.Equal(0, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void InvalidOptionsAndArguments_AreRefusedClearly()
    {
        Assert.Throws<ArgumentException>(() => new ConcurrentNestedMap<int, int, int>(new() { ExpireAfterWrite = TimeSpan.FromSeconds(1), ExpireAfterAccess = TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new() { ExpireAfterWrite = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new() { ExpireOuterAfterIdle = Timeout.InfiniteTimeSpan }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new() { MaxEntries = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new() { MaxRemovalsPerSlice = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new() { CapacityPolicy = (CapacityPolicy)42 }));
        using var map = new ConcurrentNestedMap<int, int, int>();
        Assert.Throws<ArgumentOutOfRangeException>(() => map.Set(1, 1, 1, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.TryAdd(1, 1, 1, TimeSpan.FromSeconds(-1)));
        Assert.Equal(0, map.Count);
    }

    /// <summary>An ordinal string comparer that can be told to throw from a given call of <see cref="GetHashCode(string)"/> on.</summary>
    private sealed class CountdownComparer : IEqualityComparer<string>
    {
        private int? _callsLeft;

        /// <summary>Lets <paramref name="calls"/> more calls (hash or equality) through, then throws on every one; <see langword="null"/> never throws.</summary>
        public void ThrowAfter(int? calls) => _callsLeft = calls;

        public bool Equals(string? x, string? y)
        {
            Count();
            return string.Equals(x, y, StringComparison.Ordinal);
        }

        public int GetHashCode(string obj)
        {
            Count();
            return StringComparer.Ordinal.GetHashCode(obj);
        }

        private void Count()
        {
            if (_callsLeft is { } left)
            {
                if (left <= 0)
                {
                    throw new InvalidOperationException("Comparer failure injected by the test.");
                }

                _callsLeft = left - 1;
            }
        }
    }

    /// <summary>A time provider whose next timestamp throws when the test says so (timers and all else come from a FakeTimeProvider).</summary>
    private sealed class FailingClock(FakeTimeProvider inner) : TimeProvider
    {
        private int _failNext;

        public override long TimestampFrequency => inner.TimestampFrequency;

        /// <summary>Makes the next timestamp read throw, and only that one.</summary>
        public void FailNext() => Volatile.Write(ref _failNext, 1);

        public override long GetTimestamp() => Interlocked.Exchange(ref _failNext, 0) == 1
            ? throw new InvalidOperationException("Clock failure injected by the test.")
            : inner.GetTimestamp();

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            inner.CreateTimer(callback, state, dueTime, period);
    }

    /// <summary>A time provider whose timers run a test action inline in one call of <see cref="ITimer.Change"/>, as FakeTimeProvider runs other due callbacks there.</summary>
    private sealed class InlineOnChange(FakeTimeProvider inner) : TimeProvider
    {
        private Action? _onNextChange;

        public override long TimestampFrequency => inner.TimestampFrequency;

        /// <summary>Runs <paramref name="action"/> inside the next <see cref="ITimer.Change"/> that arms a timer.</summary>
        public void RunOnNextChange(Action action) => _onNextChange = action;

        public override long GetTimestamp() => inner.GetTimestamp();

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new Timer(inner.CreateTimer(callback, state, dueTime, period), this);

        private sealed class Timer(ITimer timer, InlineOnChange owner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                var changed = timer.Change(dueTime, period);
                if (dueTime != Timeout.InfiniteTimeSpan && Interlocked.Exchange(ref owner._onNextChange, null) is { } action)
                {
                    action();
                }

                return changed;
            }

            public void Dispose() => timer.Dispose();

            public ValueTask DisposeAsync() => timer.DisposeAsync();
        }
    }

    /// <summary>A time provider whose timers fire <c>early</c> before their due time, like millisecond system timers can.</summary>
    private sealed class EarlyTimers(FakeTimeProvider inner, TimeSpan early) : TimeProvider
    {
        public override long TimestampFrequency => inner.TimestampFrequency;

        public override long GetTimestamp() => inner.GetTimestamp();

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            new EarlyTimer(inner.CreateTimer(callback, state, Early(dueTime), period), early);

        private TimeSpan Early(TimeSpan due) => due > early ? due - early : due;

        private sealed class EarlyTimer(ITimer timer, TimeSpan early) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => timer.Change(dueTime > early ? dueTime - early : dueTime, period);

            public void Dispose() => timer.Dispose();

            public ValueTask DisposeAsync() => timer.DisposeAsync();
        }
    }

    // Out of line: a target fetched in the test method itself would sit in a hidden local that Debug code keeps alive.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsAlive(WeakReference<ConcurrentNestedMap<int, int, int>> reference) => reference.TryGetTarget(out _);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<ConcurrentNestedMap<int, int, int>> MakeAbandonedMap(FakeTimeProvider time)
    {
        var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, ExpireAfterWrite = TimeSpan.FromMinutes(1) });
        map.Set(1, 1, 1); // arms the timer
        return new WeakReference<ConcurrentNestedMap<int, int, int>>(map);
    }
}
