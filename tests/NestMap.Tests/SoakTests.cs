namespace NestMap.Tests;

/// <summary>
/// Barrier-started multi-thread soak tests on small key spaces (so that threads collide on the same inner maps all the
/// time), each ending in a full integrity check. Iteration counts are sized to run in about a second in Debug.
/// </summary>
public sealed class SoakTests
{
    private const int Outers = 3;
    private static readonly int Threads = Math.Max(4, Environment.ProcessorCount * 2);

    [Fact]
    public void OuterKeyChurn_ThroughManyOuterTableResizes_HidesNoEntry()
    {
        // Writers link and reclaim tens of thousands of short-lived outer keys, so the outer table grows many times and
        // relinks its chains under the readers. Readers check entries that are there from start to end: each read must
        // find them, and enumerating the outer keys must return each of them once.
        var map = new ConcurrentNestedMap<long, int, int>();
        const int stableOuters = 100;
        for (var outer = 0; outer < stableOuters; outer++)
        {
            map.Set(outer, 1, outer);
        }

        var writers = Math.Max(2, Threads / 2);
        var writing = writers;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        RunTogether(Threads, thread =>
        {
            if (thread < writers)
            {
                try
                {
                    for (var n = 0; n < 30_000; n++)
                    {
                        long outer = 1_000_000L * (thread + 1) + n;
                        map.Set(outer, 1, n);
                        map.Set(outer, 2, n);
                        if (n % 2 == 0)
                        {
                            Assert.True(map.TryRemove(outer, 1, out _));
                            Assert.True(map.TryRemove(outer, 2, out _)); // the last entry: the inner map is unlinked
                        }
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref writing); // also when a writer fails, or the readers would spin forever
                }

                return;
            }

            while (Volatile.Read(ref writing) > 0)
            {
                for (var outer = 0; outer < stableOuters; outer++)
                {
                    if (!map.TryGetValue(outer, 1, out var value) || value != outer)
                    {
                        errors.Enqueue($"Entry ({outer}, 1) was not found.");
                    }
                }

                if (thread % 2 == 0)
                {
                    var seen = map.OuterKeys.Where(outer => outer < stableOuters).ToList();
                    if (seen.Count != stableOuters || seen.Distinct().Count() != stableOuters)
                    {
                        errors.Enqueue($"Enumeration returned {seen.Count} stable outer keys ({seen.Distinct().Count()} distinct).");
                    }
                }
            }
        });

        Assert.Empty(errors);
        Assert.Empty(map.CheckIntegrity());
        Assert.Equal(stableOuters + (writers * 15_000), map.OuterCount);
        Assert.Equal(stableOuters + (writers * 30_000), map.Count);
    }

    [Fact]
    public void RemoveLastEntry_RacingWrites_LosesNoAcknowledgedWrite()
    {
        // Churners keep emptying the inner maps (add one key, remove it), so writers constantly meet inner maps that
        // are being retired. Every write a writer saw acknowledged and did not remove itself must be there at the end.
        var map = new ConcurrentNestedMap<int, long, long>();
        var kept = new List<(int Outer, long Inner, long Value)>[Threads];
        RunTogether(Threads, thread =>
        {
            var mine = kept[thread] = [];
            var churner = thread % 2 == 0;
            for (var n = 0; n < 100_000; n++)
            {
                var outer = n % Outers;
                if (churner)
                {
                    var key = -1 - thread;
                    map.Set(outer, key, n);
                    Assert.True(map.TryRemove(outer, key, out _));
                    continue;
                }

                long inner = ((long)thread << 32) | (uint)n;
                switch (n % 4)
                {
                    case 0: map.Set(outer, inner, n); break;
                    case 1: Assert.True(map.TryAdd(outer, inner, n)); break;
                    case 2: Assert.Equal(n, map.GetOrAdd(outer, inner, (_, _) => n)); break;
                    default: Assert.Equal(n, map.AddOrUpdate(outer, inner, n, (_, _, _) => throw new InvalidOperationException("absent key updated"))); break;
                }

                if (n % 8 == 7)
                {
                    mine.Add((outer, inner, n));
                }
                else
                {
                    Assert.True(map.TryRemove(outer, inner, out var removed));
                    Assert.Equal(n, removed);
                }
            }
        });

        var expected = kept.SelectMany(k => k).ToList();
        foreach (var (outer, inner, value) in expected)
        {
            Assert.True(map.TryGetValue(outer, inner, out var actual), $"Acknowledged write ({outer}, {inner}) was lost.");
            Assert.Equal(value, actual);
        }

        Assert.Equal(expected.Count, map.Count);
        Assert.Equal(expected.Count, map.ToList().Count); // enumeration agrees with the counter
        Assert.Empty(map.CheckIntegrity());
    }

    [Theory]
    [InlineData(3, 150_000)]
    [InlineData(64, 100_000)]
    public void OwnedKeys_MixedOperations_AgreeWithPerThreadModels(int keysPerThread, int operations)
    {
        // Each thread owns the inner keys congruent to its index, so its own sequential model predicts every result
        // exactly, while the inner maps (3 outer keys) are shared by all threads: with few keys they are created and
        // retired all the time, with many they grow into successors and shrink back while other threads use them.
        var map = new ConcurrentNestedMap<int, int, int>();
        var models = new Dictionary<(int, int), int>[Threads];
        RunTogether(Threads, thread =>
        {
            var model = models[thread] = [];
            var random = new Random(thread);
            for (var n = 0; n < operations; n++)
            {
                var outer = random.Next(Outers);
                var inner = thread + (Threads * random.Next(keysPerThread));
                var value = random.Next(100);
                var present = model.TryGetValue((outer, inner), out var current);
                switch (random.Next(8))
                {
                    case 0:
                        map.Set(outer, inner, value);
                        model[(outer, inner)] = value;
                        break;
                    case 1:
                        Assert.Equal(!present, map.TryAdd(outer, inner, value));
                        model.TryAdd((outer, inner), value);
                        break;
                    case 2:
                        Assert.Equal(present, map.TryGetValue(outer, inner, out var read));
                        Assert.Equal(present ? current : 0, read);
                        break;
                    case 3:
                        Assert.Equal(present ? current : value, map.GetOrAdd(outer, inner, value));
                        model.TryAdd((outer, inner), value);
                        break;
                    case 4:
                        var updated = map.AddOrUpdate(outer, inner, value, (_, _, v) => v + 1);
                        model[(outer, inner)] = present ? current + 1 : value;
                        Assert.Equal(model[(outer, inner)], updated);
                        break;
                    case 5:
                        Assert.Equal(present && current == value, map.TryUpdate(outer, inner, value + 1, value));
                        if (present && current == value)
                        {
                            model[(outer, inner)] = value + 1;
                        }

                        break;
                    default:
                        Assert.Equal(present, map.TryRemove(outer, inner, out var removed));
                        Assert.Equal(present ? current : 0, removed);
                        model.Remove((outer, inner));
                        break;
                }
            }
        });

        var expected = models.SelectMany(m => m).ToDictionary(p => p.Key, p => p.Value);
        var actual = map.ToDictionary(e => (e.Outer, e.Inner), e => e.Value);
        Assert.Equal(expected, actual);
        Assert.Equal(expected.Count, map.Count);
        Assert.Equal(expected.Keys.Select(k => k.Item1).Distinct().Count(), map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void AddOrUpdate_Contended_CountsEveryIncrement()
    {
        // All threads increment the same few counters: an optimistic update that commits a stale value loses one.
        var map = new ConcurrentNestedMap<int, int, int>();
        const int PerThread = 100_000;
        RunTogether(Threads, thread =>
        {
            for (var n = 0; n < PerThread; n++)
            {
                map.AddOrUpdate(n % 2, n % 3, 1, (_, _, v) => v + 1);
            }
        });

        Assert.Equal((long)Threads * PerThread, map.Sum(e => (long)e.Value));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void Readers_DuringResizeAndRetirement_AlwaysSeePresentKeys()
    {
        // Anchor keys stay from start to end while churn grows and shrinks the same inner maps (resizes) and other
        // outer keys are retired. A lock-free reader must never miss an anchor, and enumeration must never throw or
        // yield an anchor twice.
        var map = new ConcurrentNestedMap<int, int, int>();
        const int Anchors = 16;
        for (var o = 0; o < Outers; o++)
        {
            for (var a = 0; a < Anchors; a++)
            {
                map.Set(o, -1 - a, a);
            }
        }

        var writing = Threads / 2;
        var writersLeft = writing;
        var reads = 0L;
        RunTogether(Threads, thread =>
        {
            if (thread < writing)
            {
                // The count goes down even when a writer fails, or the readers would spin forever and hang the run.
                try
                {
                    for (var round = 0; round < 40; round++)
                    {
                        var outer = (thread + round) % Outers;
                        for (var i = 0; i < 300; i++)
                        {
                            map.Set(outer, (thread * 1000) + i, i);
                        }

                        for (var i = 0; i < 300; i++)
                        {
                            map.TryRemove(outer, (thread * 1000) + i, out _);
                        }

                        map.Set(100 + thread, 0, 0);
                        map.RemoveOuter(100 + thread);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref writersLeft);
                }

                return;
            }

            while (Volatile.Read(ref writersLeft) > 0)
            {
                for (var o = 0; o < Outers; o++)
                {
                    for (var a = 0; a < Anchors; a++)
                    {
                        Assert.True(map.TryGetValue(o, -1 - a, out var v), $"Anchor ({o}, {-1 - a}) missed.");
                        Assert.Equal(a, v);
                    }
                }

                var seen = map.Where(e => e.Inner < 0).Select(e => (e.Outer, e.Inner)).ToList();
                Assert.Equal(Outers * Anchors, seen.Count);
                Assert.Equal(seen.Count, seen.Distinct().Count());
                Interlocked.Increment(ref reads);
            }
        });

        Assert.True(reads > 0);
        Assert.Equal(Outers * Anchors, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void RemoveOuterAndClear_RacingWrites_LeaveConsistentStructure()
    {
        // Whole-outer removals race with writers; which writes survive is up to the interleaving, but the structure
        // must agree with itself and every surviving value must be one a writer wrote for that key.
        var map = new ConcurrentNestedMap<int, int, int>();
        RunTogether(Threads, thread =>
        {
            var random = new Random(thread);
            for (var n = 0; n < 100_000; n++)
            {
                var outer = random.Next(Outers);
                switch (thread % 4)
                {
                    case 0 when n % 500 == 0: map.Clear(); break;
                    case 0: map.RemoveOuter(outer); break;
                    default: map.Set(outer, random.Next(8), (outer * 10) + (n % 10)); break;
                }
            }
        });

        foreach (var (outer, _, value) in map)
        {
            Assert.Equal(outer, value / 10);
        }

        Assert.Empty(map.CheckIntegrity());
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="threads"/> dedicated threads released together by a barrier; rethrows the first failure.</summary>
    internal static void RunTogether(int threads, Action<int> body)
    {
        using var barrier = new Barrier(threads);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            try
            {
                barrier.SignalAndWait();
                body(t);
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        if (errors.TryDequeue(out var first))
        {
            throw new AggregateException($"{errors.Count + 1} thread(s) failed.", [first, .. errors]);
        }
    }
}
