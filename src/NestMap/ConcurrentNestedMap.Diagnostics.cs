using System.Globalization;
using System.Runtime.CompilerServices;
using NestMap.Internal;

namespace NestMap;

/// <content>The leak report and the insertion-site sampler.</content>
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue>
{
    private static readonly (string Label, TimeSpan UpTo)[] AgeBuckets =
    [
        ("< 1 s", TimeSpan.FromSeconds(1)),
        ("1 s - 10 s", TimeSpan.FromSeconds(10)),
        ("10 s - 1 min", TimeSpan.FromMinutes(1)),
        ("1 min - 10 min", TimeSpan.FromMinutes(10)),
        ("10 min - 1 h", TimeSpan.FromHours(1)),
        ("1 h - 1 d", TimeSpan.FromDays(1)),
        (">= 1 d", TimeSpan.MaxValue),
    ];

    /// <summary>The sampler of insertion sites; <see langword="null"/> when sampling is off.</summary>
    private readonly InsertionSampler<TOuter, TInner, TValue>? _sampler;

    /// <summary>Takes a leak report: totals, the biggest and the idlest outer keys, and what the insertion-site sampler found.</summary>
    /// <param name="top">How many outer keys, oldest entries and sites to list (1 to 1,000).</param>
    /// <returns>The report; serialise it with <see cref="NestedMapReport.ToJson"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="top"/> is out of range.</exception>
    /// <remarks>
    /// Thread-safe and weakly consistent, like enumeration: it walks the outer table once without blocking writers
    /// (each count is the inner map's own at the moment it is looked at), and takes the wheel lock briefly for the
    /// expiry figures. Its cost is linear in the outer keys plus the kept samples; it is for diagnosis, not for a hot path.
    /// </remarks>
    public NestedMapReport Diagnose(int top = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(top, 1_000);
        var snapshot = ((IMetricsSource)this).Observe();
        var now = _time.GetTimestamp();
        var biggest = new PriorityQueue<OuterKeyUsage, int>(top + 1);
        var idlest = new PriorityQueue<OuterKeyUsage, long>(top + 1);
        foreach (var map in _outer.Maps())
        {
            var count = map.Count;
            TimeSpan? idleFor = null;
            if (_idleTtl != 0 && map.IdleNode is { } idle)
            {
                // The idle deadline is the last touch plus the idle window (to within the slide threshold).
                var lastTouch = Volatile.Read(ref idle.Deadline) - _idleTtl;
                idleFor = lastTouch < now ? _time.GetElapsedTime(lastTouch, now) : TimeSpan.Zero;
            }

            var usage = new OuterKeyUsage(map.Outer.ToString() ?? string.Empty, count, idleFor);
            Keep(biggest, usage, count, top);
            if (idleFor is { } idleSpan)
            {
                Keep(idlest, usage, idleSpan.Ticks, top);
            }
        }

        return new NestedMapReport
        {
            Name = _name,
            TakenAt = _time.GetUtcNow(),
            Entries = snapshot.Entries,
            LiveEntries = Math.Max(0, snapshot.Entries - snapshot.ExpiredPending),
            ExpiredPending = snapshot.ExpiredPending,
            OuterKeys = (int)Math.Min(snapshot.OuterKeys, int.MaxValue),
            EmptyInnerMaps = snapshot.EmptyInnerMaps,
            ExpiryBacklog = snapshot.ExpiryBacklog,
            TopOuterKeys = Drain(biggest),
            IdlestOuterKeys = Drain(idlest),
            InsertionSites = _sampler is null ? null : DiagnoseSites(_sampler, now, top),
        };
    }

    /// <summary>Keeps the <paramref name="top"/> largest by priority in a min-queue.</summary>
    private static void Keep<TPriority>(PriorityQueue<OuterKeyUsage, TPriority> queue, OuterKeyUsage usage, TPriority priority, int top)
    {
        queue.Enqueue(usage, priority);
        if (queue.Count > top)
        {
            queue.Dequeue();
        }
    }

    private static List<OuterKeyUsage> Drain<TPriority>(PriorityQueue<OuterKeyUsage, TPriority> queue)
    {
        var items = new List<OuterKeyUsage>(queue.Count);
        while (queue.Count > 0)
        {
            items.Add(queue.Dequeue());
        }

        items.Reverse();
        return items;
    }

    private static string Describe(TimeSpan span) =>
        span >= TimeSpan.FromHours(1) ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalHours:0.#} hours")
        : span >= TimeSpan.FromMinutes(1) ? string.Create(CultureInfo.InvariantCulture, $"{span.TotalMinutes:0.#} minutes")
        : string.Create(CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.#} seconds");

    private InsertionSiteReport DiagnoseSites(InsertionSampler<TOuter, TInner, TValue> sampler, long now, int top)
    {
        var resident = sampler.Snapshot()
            .Where(s => IsResidentAt(s.Outer, s.Inner, now))
            .Select(s => (Sample: s, Age: _time.GetElapsedTime(s.InsertedAt, now)))
            .ToList();
        // Each sample stands for its weight in inserts (the rate, divided by the probability with which the time budget
        // kept it), so estimates and shares are sums of weights, not counts of samples.
        var totalWeight = resident.Sum(r => r.Sample.Weight);
        var ages = AgeBuckets
            .Select((bucket, i) =>
            {
                var from = i == 0 ? TimeSpan.Zero : AgeBuckets[i - 1].UpTo;
                var inBucket = resident.Where(r => r.Age >= from && r.Age < bucket.UpTo).ToList();
                return new AgeBucket(bucket.Label, inBucket.Count, (long)Math.Round(inBucket.Sum(r => r.Sample.Weight)));
            })
            .ToList();
        var sites = resident
            .GroupBy(r => r.Sample.Site)
            .Select(g =>
            {
                var weight = g.Sum(r => r.Sample.Weight);
                return new SiteUsage(g.Key, g.Count(), (long)Math.Round(weight), weight / totalWeight, g.Max(r => r.Age));
            })
            .OrderByDescending(s => s.EstimatedEntries)
            .ThenBy(s => s.Site, StringComparer.Ordinal)
            .Take(top)
            .ToList();
        var oldest = resident
            .OrderByDescending(r => r.Age)
            .Take(top)
            .Select(r => new SampledEntry(r.Sample.Outer.ToString() ?? string.Empty, r.Sample.Inner.ToString() ?? string.Empty, r.Sample.Site, r.Age))
            .ToList();
        return new InsertionSiteReport
        {
            SamplingRate = sampler.Rate,
            SampledInserts = sampler.Sampled,
            SkippedForTimeBudget = sampler.Skipped,
            ResidentSamples = resident.Count,
            Summary = Summarize(resident),
            EntryAges = ages,
            OldestEntries = oldest,
            Sites = sites,
        };
    }

    /// <summary>Names the site behind most of the oldest resident entries: older than 10 minutes if any are, else 1 minute, else 10 seconds, else all.</summary>
    private static string? Summarize(List<(InsertionSampler<TOuter, TInner, TValue>.Sample Sample, TimeSpan Age)> resident)
    {
        if (resident.Count == 0)
        {
            return null;
        }

        foreach (var threshold in new[] { TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10), TimeSpan.Zero })
        {
            var old = resident.Where(r => r.Age >= threshold).ToList();
            if (old.Count == 0)
            {
                continue;
            }

            var leader = old.GroupBy(r => r.Sample.Site)
                .Select(g => (Site: g.Key, Weight: g.Sum(r => r.Sample.Weight)))
                .OrderByDescending(g => g.Weight)
                .ThenBy(g => g.Site, StringComparer.Ordinal)
                .First();
            var share = leader.Weight / old.Sum(r => r.Sample.Weight);
            var scope = threshold == TimeSpan.Zero ? "the resident sampled entries" : $"the sampled entries older than {Describe(threshold)}";
            return string.Create(CultureInfo.InvariantCulture, $"{share * 100:0}% of {scope} were inserted by {leader.Site}.");
        }

        return null;
    }

    /// <summary>Keeps a sampled insert (out of line: its closure must not be allocated by every write, as it was when inline).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void RecordSample(TOuter outer, TInner inner, string site, double weight)
    {
        var insertedAt = _time.GetTimestamp();
        _sampler!.Record(outer, inner, site, weight, insertedAt, (o, i) => IsResidentAt(o, i, insertedAt));
    }

    /// <summary>Whether an entry is present and unexpired at <paramref name="now"/>, without counting as an access.</summary>
    private bool IsResidentAt(TOuter outer, TInner inner, long now) =>
        _outer.Find(outer) is { } map && map.Find(inner, HashOf(inner), _innerComparer) is { } node && !node.IsExpiredAt(now) && !IsOuterExpiredAt(map, now);
}
