using Microsoft.Coyote.Specifications;

namespace NestMap.SystematicTests;

/// <content>
/// The same races when the remover is the expiry sweeper: a maintenance slice that removes the last (expired) entry of
/// an inner map, or a whole idle outer key, against writes to the same outer key. Time comes from a
/// <see cref="ManualClock"/> in this (rewritten) assembly, so that Coyote controls everything the map touches.
/// </content>
public sealed partial class RemoveVersusWriteTests
{
    [Fact]
    public void ExpiryOfLastEntry_VersusSet_KeepsTheWrite() => AssertNoBug(async () =>
    {
        var (map, clock) = NewExpiringMap(new());
        map.Set("o", "a", 1, TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(5));
        var sweep = Task.Run(() => map.RunMaintenanceSlice());
        var write = Task.Run(() => map.Set("o", "b", 2));
        await sweep;
        await write;
        Specification.Assert(map.TryGetValue("o", "b", out var value) && value == 2, "Acknowledged write (o, b) was lost.");
        Specification.Assert(!map.ContainsKey("o", "a"), "The expired entry is back.");
        map.RunMaintenanceSlice();
        AssertSound(map, expectedCount: 1);
    });

    [Fact]
    public void ExpiryOfLastEntry_VersusTryAddOfSameKey_AddsIt() => AssertNoBug(async () =>
    {
        var (map, clock) = NewExpiringMap(new());
        map.Set("o", "a", 1, TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(5));
        var sweep = Task.Run(() => map.RunMaintenanceSlice());
        var add = Task.Run(() => map.TryAdd("o", "a", 2));
        await sweep;

        // The expired entry is absent for every operation, whether or not the sweeper got to it first.
        Specification.Assert(await add, "TryAdd over an expired entry failed.");
        Specification.Assert(map.TryGetValue("o", "a", out var value) && value == 2, "The added entry was lost.");
        AssertSound(map, expectedCount: 1);
    });

    [Fact]
    public void IdleOuterKeyExpiry_VersusSet_KeepsTheWrite() => AssertNoBug(async () =>
    {
        var (map, clock) = NewExpiringMap(new() { ExpireOuterAfterIdle = TimeSpan.FromSeconds(1) });
        map.Set("o", "a", 1);
        clock.Advance(TimeSpan.FromSeconds(5));
        var sweep = Task.Run(() => map.RunMaintenanceSlice());
        var write = Task.Run(() => map.Set("o", "b", 2));
        await sweep;
        await write;

        // Sweep first: the outer key goes whole and the write makes it anew. Write first: the outer key is past its
        // idle deadline, so the write replaces it (the old entry goes as expired) rather than reviving it. Either way
        // the acknowledged write is there, and the expired entry is not.
        Specification.Assert(map.TryGetValue("o", "b", out var value) && value == 2, "Acknowledged write (o, b) was lost.");
        Specification.Assert(!map.ContainsKey("o", "a"), "The idle-expired entry is back.");
        AssertSound(map, expectedCount: 1);
    });

    [Fact]
    public void SlidingRead_VersusResize_KeepsTheReadsExtension() => AssertNoBug(async () =>
    {
        // A resize copies each timed node with its deadline; a lock-free read that slid the old node's deadline after
        // the copy was made must not lose that extension (the entry would expire a window after an earlier access).
        var (map, clock) = NewExpiringMap(new() { ExpireAfterAccess = TimeSpan.FromSeconds(64) });
        map.Set("o", "a", 1);
        map.Set("o", "b", 2); // the inner map is full now (two buckets): the next new key grows it into a successor
        clock.Advance(TimeSpan.FromSeconds(32)); // a read now moves the deadline by 32 s, well past the slide threshold
        var read = Task.Run(() => map.ContainsKey("o", "a"));
        var grow = Task.Run(() => map.Set("o", "c", 3));
        Specification.Assert(await read, "The entry was not found before its deadline.");
        await grow;

        // 95 s after the write, 63 s after the read: expired by the write's deadline, alive by the read's.
        clock.Advance(TimeSpan.FromSeconds(63));
        Specification.Assert(map.ContainsKey("o", "a"), "The read's extension of the deadline was lost in the resize.");
        AssertSound(map, expectedCount: 3);
    });

    [Fact]
    public void SlidingReads_OfTwoReaders_KeepTheLaterExtension() => AssertNoBug(async () =>
    {
        // Two reads slide one entry's deadline without a lock. The first may read the clock, and the deadline, before
        // the clock moves on and the second read stores a later deadline: its own, earlier one must not replace it.
        var (map, clock) = NewExpiringMap(new() { ExpireAfterAccess = TimeSpan.FromSeconds(64) });
        map.Set("o", "a", 1); // deadline: 64 s from now
        clock.Advance(TimeSpan.FromSeconds(32));
        var first = Task.Run(() => map.ContainsKey("o", "a")); // slides to 96 s, or to 112 s if it reads the clock late
        clock.Advance(TimeSpan.FromSeconds(16));
        var second = Task.Run(() => map.ContainsKey("o", "a")); // reads the clock at 48 s: slides to 112 s
        bool foundFirst = await first, foundSecond = await second;
        Specification.Assert(foundFirst && foundSecond, "The entry was not found before its deadline.");

        // At 108 s: expired by the first read's deadline, alive by the second's.
        clock.Advance(TimeSpan.FromSeconds(60));
        Specification.Assert(map.ContainsKey("o", "a"), "A read's earlier deadline replaced a later read's extension.");
        AssertSound(map, expectedCount: 1);
    });

    [Fact]
    public void TwoSlidingReads_VersusResize_KeepTheLaterExtension() => AssertNoBug(
        // The second read starts after the clock step: both may slide the original, and carry their deadlines to the
        // copy in either order, racing the resize's own take of the original's deadline.
        TwoSlidingReadsAgainst(map => map.Set("o", "c", 3), entries: 3, secondReadsLate: true),
        iterations: 10_000); // the interleavings are rare: before the fixes, the first bug came after 1,400 to 7,500 schedules

    [Fact]
    public void SlidingReads_OfTheOldAndTheNewMap_KeepTheLaterExtension() => AssertNoBug(
        TwoSlidingReadsAgainst(map => map.Set("o", "c", 3), entries: 3), // c grows the full map into a successor
        iterations: 10_000);

    [Fact]
    public void SlidingReads_AcrossTwoResizes_KeepTheLaterExtension() => AssertNoBug(
        TwoSlidingReadsAgainst(
            map =>
            {
                map.Set("o", "c", 3); // grows the map to four buckets
                map.Set("o", "d", 4);
                map.Set("o", "e", 5); // the fifth entry grows it again: a carry follows the entry from copy to copy
            },
            entries: 5),
        iterations: 10_000);

    /// <summary>
    /// Two reads of one entry racing <paramref name="grow"/> (which resizes the inner map while they run) and a clock
    /// step: one may slide the original and the other its copy. Whichever read the clock later, its deadline must be
    /// the entry's in the end. With <paramref name="secondReadsLate"/>, the second read starts after the clock step.
    /// </summary>
    private static Func<Task> TwoSlidingReadsAgainst(Action<ConcurrentNestedMap<string, string, int>> grow, int entries, bool secondReadsLate = false) => async () =>
    {
        var (map, clock) = NewExpiringMap(new() { ExpireAfterAccess = TimeSpan.FromSeconds(64) });
        map.Set("o", "a", 1);
        map.Set("o", "b", 2); // the inner map is full: the next new key grows it into a successor
        clock.Advance(TimeSpan.FromSeconds(32));
        var first = Task.Run(() => ManualClock.Reading(() => map.ContainsKey("o", "a")));
        var growing = Task.Run(() => grow(map));
        Task<bool>? second = secondReadsLate ? null : Task.Run(() => ManualClock.Reading(() => map.ContainsKey("o", "a")));
        clock.Advance(TimeSpan.FromSeconds(16)); // each read sees 32 s or 48 s: deadline 96 s or 112 s
        second ??= Task.Run(() => ManualClock.Reading(() => map.ContainsKey("o", "a")));
        bool foundFirst = await first, foundSecond = await second;
        await growing;
        Specification.Assert(foundFirst && foundSecond, "The entry was not found before its deadline.");

        // At 108 s the entry is alive exactly when a read saw 48 s.
        bool readLate = clock.LatestRead == 1_000_000 + TimeSpan.FromSeconds(48).Ticks;
        clock.Advance(TimeSpan.FromSeconds(60));
        Specification.Assert(
            map.ContainsKey("o", "a") == readLate,
            readLate ? "The later read's extension was lost in a resize." : "The entry outlived its reads' deadline.");
        AssertSound(map, expectedCount: entries);
    };

    [Fact]
    public void SlidingRead_VersusWriteAndResize_LeavesTheLaterWritesDeadline() => AssertNoBug(
        async () =>
        {
            // A read racing a write with a short per-call TTL and a resize: a read that returned the old value came
            // before the write, so its carry must not put its longer deadline over the write's.
            var (map, clock) = NewExpiringMap(new() { ExpireAfterAccess = TimeSpan.FromSeconds(64) });
            map.Set("o", "a", 1);
            map.Set("o", "b", 2); // the inner map is full: the next new key grows it into a successor
            clock.Advance(TimeSpan.FromSeconds(32));
            var read = Task.Run(() => map.TryGetValue("o", "a", out var value) ? value : 0);
            var write = Task.Run(() => map.Set("o", "a", 2, TimeSpan.FromSeconds(1)));
            var grow = Task.Run(() => map.Set("o", "c", 3));
            int seen = await read;
            await write;
            await grow;
            Specification.Assert(seen is 1 or 2, "The entry was not found before its deadline.");

            // At 40 s the write's deadline (33 s) has passed; a read that saw the old value must not have extended it.
            clock.Advance(TimeSpan.FromSeconds(8));
            Specification.Assert(seen == 2 || !map.ContainsKey("o", "a"), "A read before the write extended the write's deadline.");
            AssertSound(map, expectedCount: 3);
        },
        iterations: 10_000);

    private static (ConcurrentNestedMap<string, string, int> Map, ManualClock Clock) NewExpiringMap(NestedMapOptions<string, string, int> options)
    {
        var clock = new ManualClock();
        var map = new ConcurrentNestedMap<string, string, int>(new()
        {
            TimeProvider = clock,
            ExpireOuterAfterIdle = options.ExpireOuterAfterIdle,
            ExpireAfterAccess = options.ExpireAfterAccess,
        });

        // No timer and no background work (Coyote controls neither): maintenance runs only where a scenario calls it.
        map.Dispose();
        return (map, clock);
    }

    /// <summary>A clock that moves only when told, and whose timers never fire.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _now = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        [ThreadStatic]
        private static bool s_reading;

        private long _latestRead;

        /// <summary>Gets the latest time a read made inside <see cref="Reading"/> saw.</summary>
        public long LatestRead => Volatile.Read(ref _latestRead);

        public override long GetTimestamp()
        {
            var now = Volatile.Read(ref _now);
            if (s_reading)
            {
                // Only the scenario's reads of one entry run inside Reading; the maximum over them is what it checks.
                long seen;
                while (now > (seen = Volatile.Read(ref _latestRead)) && Interlocked.CompareExchange(ref _latestRead, now, seen) != seen)
                {
                }
            }

            return now;
        }

        /// <summary>Runs <paramref name="read"/>, recording the times it reads.</summary>
        public static bool Reading(Func<bool> read)
        {
            s_reading = true;
            try
            {
                return read();
            }
            finally
            {
                s_reading = false;
            }
        }

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new InertTimer();

        private sealed class InertTimer : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
