using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace NestMap.Tests;

/// <summary>The leak report: totals, biggest and idlest outer keys, insertion sites, ages, the sampler's bound, JSON.</summary>
public sealed class DiagnoseTests
{
    [Fact]
    public void Report_ListsTheBiggestOuterKeys_AndSerialisesToJson()
    {
        using var map = new ConcurrentNestedMap<string, int, int>(new() { Name = "orders" });
        foreach (var (outer, count) in new[] { ("a", 5), ("b", 3), ("c", 1) })
        {
            for (var i = 0; i < count; i++)
            {
                map.Set(outer, i, i);
            }
        }

        var report = map.Diagnose(top: 2);
        Assert.Equal("orders", report.Name);
        Assert.Equal(9, report.Entries);
        Assert.Equal(9, report.LiveEntries);
        Assert.Equal(3, report.OuterKeys);
        Assert.Equal(0, report.EmptyInnerMaps);
        Assert.Equal([("a", 5), ("b", 3)], report.TopOuterKeys.Select(k => (k.Outer, k.Entries)));
        Assert.Empty(report.IdlestOuterKeys);
        Assert.Null(report.InsertionSites);

        using var json = JsonDocument.Parse(report.ToJson());
        Assert.Equal(9, json.RootElement.GetProperty("entries").GetInt64());
        Assert.Equal("a", json.RootElement.GetProperty("topOuterKeys")[0].GetProperty("outer").GetString());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("insertionSites").ValueKind);
    }

    [Fact]
    public void Report_ListsTheIdlestOuterKeys_WhenIdlenessIsTracked()
    {
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<string, int, int>(new() { TimeProvider = time, ExpireOuterAfterIdle = TimeSpan.FromHours(1) });
        map.Set("old", 1, 1);
        time.Advance(TimeSpan.FromMinutes(30));
        map.Set("new", 1, 1);
        time.Advance(TimeSpan.FromMinutes(5));

        var idlest = map.Diagnose().IdlestOuterKeys;
        Assert.Equal(["old", "new"], idlest.Select(k => k.Outer));
        Assert.InRange(idlest[0].IdleFor!.Value, TimeSpan.FromMinutes(34), TimeSpan.FromMinutes(36));
    }

    [Fact]
    public void InsertionSites_GroupTheResidentEntriesByTheCodeThatInsertedThem()
    {
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, InsertionSiteSampling = 1 });
        InsertOldThenNew(map, time, old: 30, young: 10);

        for (var i = 0; i < 10; i++)
        {
            Assert.True(map.TryRemove(1, i, out _)); // ten of the old entries leave: they are no longer resident
        }

        var sites = map.Diagnose().InsertionSites!;
        Assert.Equal(1, sites.SamplingRate);
        Assert.Equal(40, sites.SampledInserts);
        Assert.Equal(30, sites.ResidentSamples);
        Assert.Contains(nameof(InsertFromSessionStore), sites.Sites[0].Site, StringComparison.Ordinal);
        Assert.Contains("DiagnoseTests.cs:", sites.Sites[0].Site, StringComparison.Ordinal);
        Assert.Equal(20, sites.Sites[0].ResidentSamples);
        Assert.Equal(2.0 / 3, sites.Sites[0].Share, 3);
        Assert.Contains(nameof(InsertFromCheckout), sites.Sites[1].Site, StringComparison.Ordinal);
        Assert.Equal(20, sites.EntryAges.Single(b => b.Label == "10 min - 1 h").ResidentSamples);
        Assert.Equal(10, sites.EntryAges.Single(b => b.Label == "< 1 s").ResidentSamples);
        Assert.Contains(nameof(InsertFromSessionStore), sites.OldestEntries[0].Site, StringComparison.Ordinal);
        Assert.StartsWith("100% of the sampled entries older than 10 minutes were inserted by ", sites.Summary, StringComparison.Ordinal);
        Assert.Contains(nameof(InsertFromSessionStore), sites.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_KeepsABoundedTable_AndPrefersDroppingGoneEntries()
    {
        using var map = new ConcurrentNestedMap<int, int, int>(new() { InsertionSiteSampling = 1 });
        for (var i = 0; i < 10_000; i++)
        {
            map.Set(i % 100, i, i);
            if (i % 2 == 0)
            {
                map.TryRemove(i % 100, i, out _);
            }
        }

        var sites = map.Diagnose().InsertionSites!;
        Assert.Equal(10_000, sites.SampledInserts);
        Assert.InRange(sites.ResidentSamples, 1, 4_096);

        // Dropping samples of removed entries first keeps the table about the entries that stay.
        Assert.True(sites.ResidentSamples > 2_400, $"{sites.ResidentSamples} resident samples");
    }

    [Fact]
    public void Sampler_WhenItsTableIsFull_KeepsOldAndNewInsertsEquallyRepresented()
    {
        // Review regression: a full table once replaced a random slot for every new sample, so the samples of old
        // entries faded out, and with them what a leak report is for. Thinning keeps both halves at their weight.
        var time = new FakeTimeProvider();
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, InsertionSiteSampling = 1 });
        InsertOldThenNew(map, time, old: 10_000, young: 10_000);

        var sites = map.Diagnose().InsertionSites!;
        var store = sites.Sites.Single(s => s.Site.Contains(nameof(InsertFromSessionStore), StringComparison.Ordinal));
        var checkout = sites.Sites.Single(s => s.Site.Contains(nameof(InsertFromCheckout), StringComparison.Ordinal));
        Assert.InRange(sites.ResidentSamples, 1_000, 4_096);
        Assert.InRange(store.EstimatedEntries, 8_500, 11_500);
        Assert.InRange(checkout.EstimatedEntries, 8_500, 11_500);
        Assert.InRange(store.Share, 0.4, 0.6);
        Assert.StartsWith("100% of the sampled entries older than 10 minutes were inserted by ", sites.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampler_SamplesAboutOneInsertInRate_AndItsEstimatesAddUpToTheInserts()
    {
        // A fake clock that never moves: every capture looks free, so the time budget never skips a sampling point.
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = new FakeTimeProvider(), InsertionSiteSampling = 100 });
        for (var i = 0; i < 100_000; i++)
        {
            InsertFromSessionStore(map, i);
        }

        var sites = map.Diagnose().InsertionSites!;
        Assert.Equal(0, sites.SkippedForTimeBudget);
        Assert.InRange(sites.SampledInserts, 850, 1_150); // 1,000 expected: each write is a sampling point with chance 1 in 100 (sd about 32)
        Assert.Equal(sites.SampledInserts, sites.ResidentSamples);
        Assert.InRange(sites.Sites.Single().EstimatedEntries, 90_000, 110_000);
        Assert.Equal(sites.Sites.Single().EstimatedEntries, sites.EntryAges.Sum(b => b.EstimatedEntries));
    }

    [Fact]
    public void Sampler_OfOneMap_IsNotStarvedByAnotherMapWithAHugeRateOnTheSameThread()
    {
        // Regression: the countdown was once per thread and shared by all maps, so a map sampling 1 in 2^29 set it
        // to hundreds of millions and the other map sampled nothing. Countdowns are per map now.
        var time = new FakeTimeProvider();
        using var rare = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, InsertionSiteSampling = 1 << 29 });
        using var often = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = time, InsertionSiteSampling = 10 });
        for (var i = 0; i < 10_000; i++)
        {
            rare.Set(1, i, i);
            often.Set(1, i, i);
        }

        Assert.InRange(often.Diagnose().InsertionSites!.SampledInserts, 800, 1_200);
    }

    [Fact]
    public void Sampler_KeepsCapturesWithinItsTimeBudget_AndWeightsTheKeptSamplesSoSharesStayUnbiased()
    {
        // Each read of this clock moves it one tick. Session-store inserts run on it: a capture (read before and after)
        // costs one tick and sampling points come about a tick apart, so the 1% budget keeps about one point in 100.
        // Checkout inserts run on a clock that stands still: captures cost nothing and every point is kept.
        var clock = new TickingTimeProvider { Step = 1 };
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = clock, InsertionSiteSampling = 10 });
        for (var i = 0; i < 200_000; i++)
        {
            InsertFromSessionStore(map, i);
        }

        clock.Step = 0;
        clock.Advance(1_000_000);
        for (var i = 0; i < 20_000; i++)
        {
            InsertFromCheckout(map, i);
        }

        var sites = map.Diagnose().InsertionSites!;
        var store = sites.Sites.Single(s => s.Site.Contains(nameof(InsertFromSessionStore), StringComparison.Ordinal));
        var checkout = sites.Sites.Single(s => s.Site.Contains(nameof(InsertFromCheckout), StringComparison.Ordinal));

        // About 20,000 sampling points for the session store, of which about 200 kept; 2,000 for checkout, all kept.
        Assert.InRange(sites.SkippedForTimeBudget, 18_500, 20_500);
        Assert.InRange(store.ResidentSamples, 50, 1_000);
        Assert.InRange(checkout.ResidentSamples, 1_800, 2_200);

        // Weighted by what they stand for, both sites estimate their inserts (by sample counts alone the session store
        // would look like a tenth of the map, not ten elevenths of it).
        Assert.InRange(store.EstimatedEntries, 140_000, 260_000);
        Assert.InRange(checkout.EstimatedEntries, 17_000, 23_000);
        Assert.InRange(store.Share, 0.85, 0.95);
    }

    [Fact]
    public void Sampler_WeightsStayUnbiased_WhenOneThreadInterleavesBurstsOfOneSiteWithPausedInsertsOfAnother()
    {
        // Review regression: weights once carried the points skipped during a burst to the next kept sample, which on a
        // thread mixing sites was often another site's: a slow site then inherited the busy site's weight. Here a thread
        // inserts bursts of 20 from the session store, pauses, and inserts 2 from checkout, a thousand times.
        var clock = new TickingTimeProvider { Step = 1 };
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = clock, InsertionSiteSampling = 2 });
        for (var cycle = 0; cycle < 1_000; cycle++)
        {
            for (var i = 0; i < 20; i++)
            {
                InsertFromSessionStore(map, (cycle * 20) + i);
            }

            clock.Advance(200);
            InsertFromCheckout(map, cycle * 2);
            InsertFromCheckout(map, (cycle * 2) + 1);
        }

        var sites = map.Diagnose().InsertionSites!;
        var store = sites.Sites.Single(s => s.Site.Contains(nameof(InsertFromSessionStore), StringComparison.Ordinal));
        var checkout = sites.Sites.Single(s => s.Site.Contains(nameof(InsertFromCheckout), StringComparison.Ordinal));
        Assert.True(sites.SkippedForTimeBudget > 0, "the budget should have skipped points");
        Assert.InRange(store.EstimatedEntries, 15_000, 25_000);
        Assert.InRange(checkout.EstimatedEntries, 1_500, 2_500);
        Assert.InRange(store.Share, 0.85, 0.95);
    }

    [Fact]
    public void Sampler_AtRateOne_SamplesEveryInsert_WhateverItCosts()
    {
        using var map = new ConcurrentNestedMap<int, int, int>(new() { TimeProvider = new TickingTimeProvider { Step = 1_000 }, InsertionSiteSampling = 1 });
        for (var i = 0; i < 1_000; i++)
        {
            InsertFromSessionStore(map, i);
        }

        var sites = map.Diagnose().InsertionSites!;
        Assert.Equal(1_000, sites.SampledInserts);
        Assert.Equal(0, sites.SkippedForTimeBudget);
        Assert.Equal(1_000, sites.Sites.Single().EstimatedEntries);
    }

    [Fact]
    public void Sampler_UnderConcurrentInsertsAndRemoves_KeepsItsBoundAndTheMapIntact()
    {
        // Barrier-started threads insert from two sites and remove half of what they insert, on the system clock, at
        // a rate that makes sampling points frequent and overflows the table (so pruning and replacement run while
        // other threads record). At the end: the map's integrity check, and a report that is internally consistent.
        using var map = new ConcurrentNestedMap<int, int, int>(new() { InsertionSiteSampling = 2 });
        var threads = Math.Max(4, Environment.ProcessorCount * 2);
        SoakTests.RunTogether(threads, thread =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var inner = (thread * 1_000_000) + i;
                if (thread % 2 == 0)
                {
                    InsertFromSessionStore(map, inner);
                }
                else
                {
                    InsertFromCheckout(map, inner);
                }

                if (i % 2 == 0)
                {
                    Assert.True(map.TryRemove(thread % 2 == 0 ? 1 : 2, inner, out _));
                }
            }
        });

        Assert.Empty(map.CheckIntegrity());
        Assert.Equal(threads * 10_000, map.Count);
        var sites = map.Diagnose().InsertionSites!;
        Assert.True(sites.SampledInserts > 0);
        Assert.InRange(sites.ResidentSamples, 1, 4_096);
        Assert.All(sites.Sites, s => Assert.True(
            s.Site.Contains(nameof(InsertFromSessionStore), StringComparison.Ordinal) || s.Site.Contains(nameof(InsertFromCheckout), StringComparison.Ordinal),
            s.Site));
        Assert.Equal(sites.ResidentSamples, sites.Sites.Sum(s => s.ResidentSamples));
        Assert.Equal(1.0, sites.Sites.Sum(s => s.Share), 6);
    }

    [Fact]
    public void Diagnose_RefusesAnAbsurdTop()
    {
        using var map = new ConcurrentNestedMap<int, int, int>();
        Assert.Throws<ArgumentOutOfRangeException>(() => map.Diagnose(top: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new() { InsertionSiteSampling = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new() { InsertionSiteSampling = (1 << 30) + 1 }));
        using var highest = new ConcurrentNestedMap<int, int, int>(new() { InsertionSiteSampling = 1 << 30 });
    }

    /// <summary>Inserts <paramref name="old"/> entries from one site, lets 20 minutes pass, then <paramref name="young"/> from another.</summary>
    private static void InsertOldThenNew(ConcurrentNestedMap<int, int, int> map, FakeTimeProvider time, int old, int young)
    {
        for (var i = 0; i < old; i++)
        {
            InsertFromSessionStore(map, i);
        }

        time.Advance(TimeSpan.FromMinutes(20));
        for (var i = 0; i < young; i++)
        {
            InsertFromCheckout(map, i);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void InsertFromSessionStore(ConcurrentNestedMap<int, int, int> map, int i) => map.Set(1, i, i);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void InsertFromCheckout(ConcurrentNestedMap<int, int, int> map, int i) => map.Set(2, i, i);

    /// <summary>A clock that moves <see cref="Step"/> ticks every time it is read (and by <see cref="Advance"/>).</summary>
    private sealed class TickingTimeProvider : TimeProvider
    {
        private long _now = 1;

        public long Step { get; set; }

        public void Advance(long ticks) => Interlocked.Add(ref _now, ticks);

        public override long GetTimestamp() => Interlocked.Add(ref _now, Step);
    }
}
