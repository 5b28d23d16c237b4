using System.Diagnostics;
using System.Numerics;

namespace NestMap.Internal;

/// <summary>
/// A hierarchical timing wheel of <see cref="InnerMap{TOuter, TInner, TValue}.TimedNode"/>s, after the design of
/// Caffeine's <c>TimerWheel</c> (Ben Manes), itself after Varghese and Lauck's hierarchical timing wheels (1987).
/// </summary>
/// <remarks>
/// <para>
/// Five levels of buckets. A bucket of level <c>i</c> spans <c>2^shift[i]</c> timestamp units; level 0's span is the
/// smallest power of two of at least one second (the wheel's tick), and each level's buckets together span exactly
/// one bucket of the next level (64 × ~1 s, 64 × ~1 min, 32 × ~1 h, 4 × ~1.5 days, then one bucket for the rest). A
/// node goes to the lowest level whose range holds its deadline, in the bucket its deadline's tick selects; each
/// bucket is a circular doubly linked list through the node's own links, with a sentinel, so scheduling,
/// rescheduling and descheduling are O(1) and allocate nothing. Nodes without a deadline (kept only for eviction
/// order) sit in a separate list in the order they were written.
/// </para>
/// <para>
/// Advancing to a new time moves every bucket whose tick has passed (at each level that ticked) into a drain list in
/// O(buckets), whatever their size. The caller then examines the drain list a bounded number of nodes at a time: due
/// nodes are removed, others are rescheduled against the new time (cascading down the levels). A node whose deadline
/// was moved later without rescheduling (sliding expiry) is simply refiled when met. Work left in the drain list is
/// the backlog, carried to the next slice.
/// </para>
/// <para>Not thread-safe: every member requires the owner's wheel lock.</para>
/// </remarks>
internal sealed class TimerWheel<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    private static readonly int[] BucketCounts = [64, 64, 32, 4, 1];

    /// <summary>log2 of the bucket span of each level, in timestamp units.</summary>
    private readonly int[] _shifts;
    private readonly InnerMap<TOuter, TInner, TValue>.TimedNode[][] _buckets;
    private readonly InnerMap<TOuter, TInner, TValue>.TimedNode _undated;
    private readonly InnerMap<TOuter, TInner, TValue>.TimedNode _drain;
    private long _time;

    /// <summary>Initializes an empty wheel whose time is <paramref name="now"/>.</summary>
    /// <param name="timestampFrequency">Timestamp units per second (<see cref="TimeProvider.TimestampFrequency"/>).</param>
    /// <param name="now">The current timestamp.</param>
    public TimerWheel(long timestampFrequency, long now)
    {
        var tick = (int)Math.Ceiling(Math.Log2(Math.Max(2, timestampFrequency)));
        _shifts = new int[BucketCounts.Length];
        _buckets = new InnerMap<TOuter, TInner, TValue>.TimedNode[BucketCounts.Length][];
        for (var level = 0; level < BucketCounts.Length; level++)
        {
            _shifts[level] = tick;
            tick += BitOperations.Log2((uint)BucketCounts[level]);
            _buckets[level] = new InnerMap<TOuter, TInner, TValue>.TimedNode[BucketCounts[level]];
            for (var i = 0; i < BucketCounts[level]; i++)
            {
                _buckets[level][i] = NewSentinel();
            }
        }

        _undated = NewSentinel();
        _drain = NewSentinel();
        _time = now;
    }

    /// <summary>Gets the number of nodes in the wheel, including those waiting in the drain list.</summary>
    public long Count { get; private set; }

    /// <summary>Gets the span of one level-0 bucket in timestamp units: the wheel's resolution.</summary>
    public long TickSpan => 1L << _shifts[0];

    /// <summary>Gets the time of the last <see cref="Advance"/>.</summary>
    public long Time => _time;

    /// <summary>Gets whether nodes moved out of due buckets are still waiting to be examined (a backlog).</summary>
    public bool HasBacklog => !ReferenceEquals(_drain.WheelNext, _drain);

    /// <summary>Files <paramref name="node"/> by its deadline; it must not be in the wheel.</summary>
    public void Schedule(InnerMap<TOuter, TInner, TValue>.TimedNode node)
    {
        Debug.Assert(node.WheelNext is null, "A node is scheduled once.");
        LinkLast(BucketFor(Volatile.Read(ref node.Deadline)), node);
        Count++;
    }

    /// <summary>Takes <paramref name="node"/> out of the wheel; it must be in it.</summary>
    public void Deschedule(InnerMap<TOuter, TInner, TValue>.TimedNode node)
    {
        Debug.Assert(node.WheelNext is not null, "Only a scheduled node is descheduled.");
        Unlink(node);
        Count--;
    }

    /// <summary>Refiles <paramref name="node"/> by its current deadline.</summary>
    public void Reschedule(InnerMap<TOuter, TInner, TValue>.TimedNode node)
    {
        Unlink(node);
        LinkLast(BucketFor(Volatile.Read(ref node.Deadline)), node);
    }

    /// <summary>Puts <paramref name="replacement"/> where <paramref name="node"/> is (a resize copies nodes).</summary>
    public static void Substitute(InnerMap<TOuter, TInner, TValue>.TimedNode node, InnerMap<TOuter, TInner, TValue>.TimedNode replacement)
    {
        Debug.Assert(node.WheelNext is not null && replacement.WheelNext is null, "Substitute a scheduled node by a new one.");
        replacement.WheelPrev = node.WheelPrev;
        replacement.WheelNext = node.WheelNext;
        replacement.WheelPrev!.WheelNext = replacement;
        replacement.WheelNext!.WheelPrev = replacement;
        node.WheelPrev = node.WheelNext = null;
    }

    /// <summary>Moves the buckets whose ticks have passed by <paramref name="now"/> into the drain list (O(buckets)).</summary>
    public void Advance(long now)
    {
        var previous = _time;
        if (now <= previous)
        {
            return;
        }

        _time = now;
        for (var level = 0; level < _shifts.Length; level++)
        {
            var previousTicks = previous >> _shifts[level];
            var currentTicks = now >> _shifts[level];
            if (currentTicks <= previousTicks)
            {
                // Higher levels tick even more rarely.
                break;
            }

            // From the previous tick's bucket (which may hold nodes that were not yet due when it was last examined)
            // to the current one, at most once round the level.
            var buckets = _buckets[level];
            var count = Math.Min(currentTicks - previousTicks + 1, buckets.Length);
            for (long t = 0; t < count; t++)
            {
                SpliceInto(_drain, buckets[(int)((previousTicks + t) & (buckets.Length - 1))]);
            }
        }
    }

    /// <summary>Gets the first node waiting in the drain list, leaving it there; the caller removes it, refiles it (<see cref="Reschedule"/>) or defers it.</summary>
    public bool TryPeekBacklog(out InnerMap<TOuter, TInner, TValue>.TimedNode node)
    {
        node = _drain.WheelNext!;
        return !ReferenceEquals(node, _drain);
    }

    /// <summary>Moves a node of the drain list to its end (its map was busy; it is examined again later).</summary>
    public void DeferInBacklog(InnerMap<TOuter, TInner, TValue>.TimedNode node)
    {
        Unlink(node);
        LinkLast(_drain, node);
    }

    /// <summary>
    /// Gets the earliest time at which <see cref="Advance"/> has work: the end of the first non-empty level-0 bucket
    /// (all its nodes are due by then) or the start of the first non-empty bucket of a higher level (it cascades down
    /// then); <see langword="null"/> when no dated node is scheduled. O(buckets).
    /// </summary>
    public long? NextDue()
    {
        if (HasBacklog)
        {
            return _time;
        }

        long? earliest = null;
        for (var level = 0; level < _shifts.Length; level++)
        {
            var buckets = _buckets[level];
            var ticks = _time >> _shifts[level];
            for (var k = 0; k < buckets.Length; k++)
            {
                var bucket = buckets[(int)((ticks + k) & (buckets.Length - 1))];
                if (!ReferenceEquals(bucket.WheelNext, bucket))
                {
                    // The current bucket (k = 0) was examined when its tick began: what is in it now waits for the
                    // next tick. A level-0 bucket is examined after its tick, when all its nodes are due.
                    var at = (ticks + Math.Max(k, level == 0 ? k + 1 : 1)) << _shifts[level];
                    earliest = earliest is { } e ? Math.Min(e, at) : at;
                    break;
                }
            }
        }

        return earliest;
    }

    /// <summary>Enumerates the scheduled nodes from the soonest to expire (by bucket) to the undated ones, oldest first.</summary>
    /// <param name="refileEarly">
    /// Whether to move nodes met in a bucket that ends before their deadline (a deadline slid later without a reschedule)
    /// to their own bucket instead of yielding them there; they are then met again in their place, if it is still ahead.
    /// </param>
    /// <remarks>The order is exact between buckets of one level and approximate across levels and within a bucket. The caller may take the yielded node out of the wheel.</remarks>
    public IEnumerable<InnerMap<TOuter, TInner, TValue>.TimedNode> InExpiryOrder(bool refileEarly)
    {
        foreach (var node in Walk(_drain))
        {
            yield return node;
        }

        for (var level = 0; level < _shifts.Length; level++)
        {
            var buckets = _buckets[level];
            var ticks = _time >> _shifts[level];
            for (var k = 0; k < buckets.Length; k++)
            {
                var bucket = buckets[(int)((ticks + k) & (buckets.Length - 1))];
                var end = (ticks + k + 1) << _shifts[level];
                foreach (var node in Walk(bucket))
                {
                    if (refileEarly && Volatile.Read(ref node.Deadline) >= end && BucketFor(Volatile.Read(ref node.Deadline)) is var own && !ReferenceEquals(own, bucket))
                    {
                        Unlink(node);
                        LinkLast(own, node);
                        continue;
                    }

                    yield return node;
                }
            }
        }

        foreach (var node in Walk(_undated))
        {
            yield return node;
        }
    }

    /// <summary>Counts, walking at most <paramref name="limit"/> nodes, the nodes waiting in the drain list (the backlog).</summary>
    public long CountBacklog(int limit) => CountWhere(_drain, static (_, _) => true, 0, limit);

    /// <summary>
    /// Counts, walking at most <paramref name="limit"/> nodes, those whose deadline has passed at <paramref name="now"/>:
    /// the drain list and the level-0 buckets up to <paramref name="now"/>'s tick (where due nodes wait for the sweep).
    /// </summary>
    public long CountDue(long now, int limit)
    {
        var count = CountWhere(_drain, static (node, at) => node.IsExpiredAt(at), now, limit);
        var buckets = _buckets[0];
        var first = _time >> _shifts[0];
        var last = Math.Min(now >> _shifts[0], first + buckets.Length - 1);
        for (var tick = first; tick <= last && count < limit; tick++)
        {
            count += CountWhere(buckets[(int)(tick & (buckets.Length - 1))], static (node, at) => node.IsExpiredAt(at), now, limit - (int)count);
        }

        return count;
    }

    /// <summary>Counts the nodes linked in all lists (for the integrity check).</summary>
    internal long CountLinked()
    {
        long count = 0;
        foreach (var node in InExpiryOrder(refileEarly: false))
        {
            count++;
        }

        return count;
    }

    private static IEnumerable<InnerMap<TOuter, TInner, TValue>.TimedNode> Walk(InnerMap<TOuter, TInner, TValue>.TimedNode sentinel)
    {
        // Read the successor before yielding: the caller may take the yielded node out.
        for (var node = sentinel.WheelNext!; !ReferenceEquals(node, sentinel);)
        {
            var next = node.WheelNext!;
            yield return node;
            node = next;
        }
    }

    private static long CountWhere(InnerMap<TOuter, TInner, TValue>.TimedNode sentinel, Func<InnerMap<TOuter, TInner, TValue>.TimedNode, long, bool> predicate, long now, int limit)
    {
        long count = 0;
        for (var node = sentinel.WheelNext!; !ReferenceEquals(node, sentinel) && count < limit; node = node.WheelNext!)
        {
            count += predicate(node, now) ? 1 : 0;
        }

        return count;
    }

    private static InnerMap<TOuter, TInner, TValue>.TimedNode NewSentinel()
    {
        var sentinel = new InnerMap<TOuter, TInner, TValue>.TimedNode(default!, 0, default!, 0, 0, null!);
        sentinel.WheelPrev = sentinel;
        sentinel.WheelNext = sentinel;
        return sentinel;
    }

    private static void LinkLast(InnerMap<TOuter, TInner, TValue>.TimedNode sentinel, InnerMap<TOuter, TInner, TValue>.TimedNode node)
    {
        var last = sentinel.WheelPrev!;
        node.WheelPrev = last;
        node.WheelNext = sentinel;
        last.WheelNext = node;
        sentinel.WheelPrev = node;
    }

    private static void Unlink(InnerMap<TOuter, TInner, TValue>.TimedNode node)
    {
        node.WheelPrev!.WheelNext = node.WheelNext;
        node.WheelNext!.WheelPrev = node.WheelPrev;
        node.WheelPrev = node.WheelNext = null;
    }

    /// <summary>Moves all nodes of <paramref name="source"/>'s list to the end of <paramref name="target"/>'s, in O(1).</summary>
    private static void SpliceInto(InnerMap<TOuter, TInner, TValue>.TimedNode target, InnerMap<TOuter, TInner, TValue>.TimedNode source)
    {
        var first = source.WheelNext!;
        if (ReferenceEquals(first, source))
        {
            return;
        }

        var last = source.WheelPrev!;
        var targetLast = target.WheelPrev!;
        targetLast.WheelNext = first;
        first.WheelPrev = targetLast;
        last.WheelNext = target;
        target.WheelPrev = last;
        source.WheelNext = source;
        source.WheelPrev = source;
    }

    private InnerMap<TOuter, TInner, TValue>.TimedNode BucketFor(long deadline)
    {
        if (deadline >= InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline)
        {
            return _undated;
        }

        // A deadline already passed goes to the current bucket, examined at the next advance (filing it by its own
        // tick could put it a whole round of the level ahead).
        var at = Math.Max(deadline, _time);
        var duration = at - _time;
        var level = 0;
        while (level < _shifts.Length - 1 && duration >= 1L << _shifts[level + 1])
        {
            level++;
        }

        var buckets = _buckets[level];
        return buckets[(int)((at >> _shifts[level]) & (buckets.Length - 1))];
    }
}
