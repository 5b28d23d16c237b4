namespace NestMap;

/// <summary>Options for a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/>.</summary>
/// <typeparam name="TOuter">The type of the outer keys.</typeparam>
/// <typeparam name="TInner">The type of the inner keys.</typeparam>
/// <typeparam name="TValue">The type of the values.</typeparam>
/// <remarks>
/// Options are read once, when the map is constructed; later changes to this object do not affect a map already
/// made. An options object may be shared by several maps and read from several threads.
/// </remarks>
public sealed class NestedMapOptions<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>Gets the comparer for outer keys.</summary>
    /// <value>Default: <see langword="null"/>, meaning <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TOuter>? OuterComparer { get; init; }

    /// <summary>Gets the comparer for inner keys.</summary>
    /// <value>Default: <see langword="null"/>, meaning <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TInner>? InnerComparer { get; init; }

    /// <summary>Gets the number of outer keys to make room for up front.</summary>
    /// <value>Default: 0, meaning the outer table starts small and grows as needed.</value>
    public int InitialOuterCapacity { get; init; }

    /// <summary>Gets the number of entries each new inner map makes room for up front.</summary>
    /// <value>
    /// Default: 0, meaning an inner map starts at its smallest size (two buckets) and doubles as it fills. Set it when
    /// most outer keys are known to hold many entries, to skip the early resizes; every inner map pays for it, even one
    /// that holds a single entry.
    /// </value>
    public int InitialInnerCapacity { get; init; }

    /// <summary>Gets the map's name: the <c>nestmap.map.name</c> tag of its metrics (meter <c>NestMap</c>).</summary>
    /// <value>Default: <see langword="null"/>, reported as <c>unnamed</c>. Give each map that matters a distinct name.</value>
    public string? Name { get; init; }

    /// <summary>Gets the source of time for every deadline.</summary>
    /// <value>Default: <see langword="null"/>, meaning <see cref="TimeProvider.System"/>. Tests pass a fake to control time.</value>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Gets how long an entry lives after it was last written (added or overwritten).</summary>
    /// <value>Default: <see langword="null"/>, no expiry. Cannot be combined with <see cref="ExpireAfterAccess"/>.</value>
    public TimeSpan? ExpireAfterWrite { get; init; }

    /// <summary>Gets how long an entry lives after it was last read or written (sliding expiry).</summary>
    /// <value>
    /// Default: <see langword="null"/>, no expiry. Cannot be combined with <see cref="ExpireAfterWrite"/>. A read extends
    /// the deadline only when that moves it by at least 1/64 of this window, so that hot entries are not written on
    /// every read: an entry may go up to that much before last access + window.
    /// </value>
    public TimeSpan? ExpireAfterAccess { get; init; }

    /// <summary>Gets how long an outer key may go untouched (no read or write of any of its entries) before it goes with all its entries.</summary>
    /// <value>Default: <see langword="null"/>, outer keys go only when their last entry goes.</value>
    /// <remarks>
    /// From its idle deadline on, an outer key is gone for every read (its entries, <c>CountOf</c>, <c>ContainsOuter</c>,
    /// <c>SnapshotOf</c>, enumeration), whether or not a maintenance slice has removed it yet, as entries are from
    /// their own deadlines; a read then does not bring it back. A write to it starts the outer key afresh: the old
    /// entries are removed at that moment and reported as expired, and only the written entry is there afterwards.
    /// A read extends the deadline only when that moves it by at least 1/64 of this window, as for
    /// <see cref="ExpireAfterAccess"/>.
    /// </remarks>
    public TimeSpan? ExpireOuterAfterIdle { get; init; }

    /// <summary>Gets the most entries the map holds.</summary>
    /// <value>
    /// Default: <see langword="null"/>, unbounded. Enforced when an entry is added; under concurrent adds the count may
    /// pass the bound by up to the number of threads adding at that instant, and returns under it as soon as they finish.
    /// Entries past their deadline but not yet swept do not hold room against a live one once their slice is due (within
    /// a wheel tick, about a second, of the deadline): a write that the bound would refuse runs the due maintenance slice
    /// first and tries once more.
    /// </value>
    public long? MaxEntries { get; init; }

    /// <summary>Gets the most outer keys the map holds.</summary>
    /// <value>
    /// Default: <see langword="null"/>, unbounded. Enforced when an outer key is added, like <see cref="MaxEntries"/>;
    /// outer keys past their idle deadline (<see cref="ExpireOuterAfterIdle"/>) but not yet swept likewise make room
    /// once their slice is due.
    /// </value>
    public int? MaxOuterKeys { get; init; }

    /// <summary>Gets the most entries one outer key holds.</summary>
    /// <value>
    /// Default: <see langword="null"/>, unbounded. Exact (checked under the outer key's lock). Eviction under this bound
    /// looks through the outer key's entries for the one closest to its deadline, so it costs up to this many steps.
    /// </value>
    public int? MaxEntriesPerOuter { get; init; }

    /// <summary>Gets what happens when a write would pass <see cref="MaxEntries"/>, <see cref="MaxOuterKeys"/> or <see cref="MaxEntriesPerOuter"/>.</summary>
    /// <value>Default: <see cref="CapacityPolicy.Reject"/> (see there for why).</value>
    public CapacityPolicy CapacityPolicy { get; init; }

    /// <summary>Gets a callback told of every entry that leaves the map, with the reason.</summary>
    /// <value>
    /// Default: <see langword="null"/>. It runs on the thread that removed the entry (a caller, or the expiry timer),
    /// after every lock of the map is released, so it may call back into the map. An exception it throws is caught and
    /// counted in <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}.RemovalCallbackFailures"/>; the map and its
    /// cleanup go on.
    /// </value>
    public Action<NestedRemoval<TOuter, TInner, TValue>>? OnRemoved { get; init; }

    /// <summary>Gets the insertion-site sampling rate: about one insert in this many records where it came from, for <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}.Diagnose"/>.</summary>
    /// <value>
    /// Default: 0, off (no cost). 1,000 is a good setting in production. A sampled insert captures a stack trace, which
    /// takes tens of microseconds in a busy process and more on deep stacks; so that this can never cost a service more
    /// than a small share of its time, each thread captures at a sampling point only with the probability that keeps its
    /// captures for one map at about 1% of its time (the report counts the points not captured, and weighs each kept
    /// sample by the inverse of that probability, so its estimates stay unbiased). 1 samples every insert, whatever it
    /// costs (for tests and debugging); the highest rate is 2^30. At most 4,096 samples are kept.
    /// </value>
    public int InsertionSiteSampling { get; init; }

    /// <summary>Gets the most entries one maintenance slice removes before it yields; the rest waits for the next slice.</summary>
    /// <value>Default: 1,000. Bounds the pause any one writer or timer tick spends on cleanup.</value>
    public int MaxRemovalsPerSlice { get; init; } = 1000;
}
