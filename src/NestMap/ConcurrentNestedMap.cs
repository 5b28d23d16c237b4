using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using NestMap.Internal;

namespace NestMap;

/// <summary>
/// A thread-safe two-level map, <typeparamref name="TOuter"/> → <typeparamref name="TInner"/> →
/// <typeparamref name="TValue"/>, whose inner maps are created on demand and reclaimed as soon as they are empty.
/// </summary>
/// <typeparam name="TOuter">The type of the outer keys (a tenant, a user, a source).</typeparam>
/// <typeparam name="TInner">The type of the inner keys (a session, a device, a cache key).</typeparam>
/// <typeparam name="TValue">The type of the values.</typeparam>
/// <remarks>
/// <para>
/// It fixes the three classic faults of <c>Dictionary&lt;K1, Dictionary&lt;K2, V&gt;&gt;</c> by construction:
/// there is no inner map to initialise (writes create it), no inner map ever reaches a caller (reads return values or
/// copies, so nothing can be touched outside the map's locks), and an inner map whose last entry is removed is removed
/// with it, atomically with respect to every other operation, so no empty ("zombie") inner map outlives its use.
/// </para>
/// <para>
/// Thread safety: every member is safe to call from any number of threads at once. Each operation on one
/// (outer, inner) pair is atomic and linearizable. Reads (<see cref="TryGetValue"/>, <see cref="ContainsKey"/>,
/// <see cref="ContainsOuter"/>, <see cref="CountOf"/>) take no lock, but for one rare case: with
/// <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterAccess"/>, a read that extends an entry's deadline while
/// its inner map is being resized waits for the resize to end. Writes take one lock: the lock of the inner map
/// of their outer key, so writers to different outer keys do not contend. Factories passed to
/// <see cref="GetOrAdd(TOuter, TInner, Func{TOuter, TInner, TValue})"/> and
/// <see cref="AddOrUpdate(TOuter, TInner, Func{TOuter, TInner, TValue}, Func{TOuter, TInner, TValue, TValue})"/> run
/// outside every lock, as with <see cref="ConcurrentDictionary{TKey, TValue}"/>: under contention a factory may run
/// more than once and only one result is stored. Exceptions thrown by factories and comparers propagate to the caller
/// and leave the map as it was. Comparers run while a lock is held and must not call back into the map.
/// </para>
/// <para>
/// Aggregates (<see cref="Count"/>, <see cref="OuterCount"/>, <see cref="IsEmpty"/>) and enumeration are weakly
/// consistent while other threads write: they never throw and never block writers, and they are exact at quiescence.
/// </para>
/// </remarks>
[DebuggerDisplay("Count = {Count}, OuterCount = {OuterCount}")]
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>Outer key → its inner map. Only maps that are not retired are linked here (see <see cref="InnerMap{TOuter, TInner, TValue}"/>).</summary>
    private readonly ConcurrentDictionary<TOuter, InnerMap<TOuter, TInner, TValue>> _outer;

    /// <summary>The inner-key comparer, or <see langword="null"/> for a value type with the default comparer (so the JIT can devirtualise).</summary>
    private readonly IEqualityComparer<TInner>? _innerComparer;

    private readonly int _initialInnerCapacity;
    private readonly StripedCounter _count = new();
    private readonly StripedCounter _outerCount = new();

    /// <summary>Initializes an empty map with default options.</summary>
    public ConcurrentNestedMap()
        : this(options: null)
    {
    }

    /// <summary>Initializes an empty map with the given key comparers.</summary>
    /// <param name="outerComparer">The outer-key comparer, or <see langword="null"/> for the default.</param>
    /// <param name="innerComparer">The inner-key comparer, or <see langword="null"/> for the default.</param>
    public ConcurrentNestedMap(IEqualityComparer<TOuter>? outerComparer, IEqualityComparer<TInner>? innerComparer)
        : this(new NestedMapOptions<TOuter, TInner, TValue> { OuterComparer = outerComparer, InnerComparer = innerComparer })
    {
    }

    /// <summary>Initializes an empty map with the given options.</summary>
    /// <param name="options">The options, or <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">A capacity in <paramref name="options"/> is negative, or the inner capacity exceeds 2^30.</exception>
    /// <exception cref="ArgumentException">Both <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterWrite"/> and <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterAccess"/> are set.</exception>
    public ConcurrentNestedMap(NestedMapOptions<TOuter, TInner, TValue>? options)
    {
        options ??= new NestedMapOptions<TOuter, TInner, TValue>();
        if (options.InitialOuterCapacity < 0 || options.InitialInnerCapacity is < 0 or > InnerMap<TOuter, TInner, TValue>.MaximumBuckets)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                $"InitialOuterCapacity must be at least 0 and InitialInnerCapacity between 0 and {InnerMap<TOuter, TInner, TValue>.MaximumBuckets} (got {options.InitialOuterCapacity} and {options.InitialInnerCapacity}).");
        }

        ValidateExpiryOptions(options);
        _time = options.TimeProvider ?? TimeProvider.System;
        _coarseClock = ReferenceEquals(_time, TimeProvider.System) ? new CoarseClock() : null;
        _writeTtl = ToTimestampSpan(options.ExpireAfterWrite);
        _accessTtl = ToTimestampSpan(options.ExpireAfterAccess);
        _idleTtl = ToTimestampSpan(options.ExpireOuterAfterIdle);
        _maxEntries = options.MaxEntries;
        _maxOuterKeys = options.MaxOuterKeys;
        _maxEntriesPerOuter = options.MaxEntriesPerOuter;
        _evict = options.CapacityPolicy == CapacityPolicy.EvictSoonestExpiring;
        _onRemoved = options.OnRemoved;
        _maxRemovalsPerSlice = options.MaxRemovalsPerSlice;
        _timesEntries = _writeTtl != 0 || _accessTtl != 0 || _maxEntries is not null || _maxEntriesPerOuter is not null;
        if (_timesEntries)
        {
            _entryWheel = new TimerWheel<TOuter, TInner, TValue>(_time.TimestampFrequency, _time.GetTimestamp());
        }

        if (_idleTtl != 0 || _maxOuterKeys is not null)
        {
            _outerWheel = new TimerWheel<TOuter, TInner, TValue>(_time.TimestampFrequency, _time.GetTimestamp());
        }

        _readClock = _accessTtl == 0 && _idleTtl == 0 ? _coarseClock : null;
        _name = options.Name ?? "unnamed";
        _sampler = options.InsertionSiteSampling > 0 ? new InsertionSampler<TOuter, TInner, TValue>(options.InsertionSiteSampling, _time) : null;

        _outer = new ConcurrentDictionary<TOuter, InnerMap<TOuter, TInner, TValue>>(
            Environment.ProcessorCount, Math.Max(options.InitialOuterCapacity, 31), options.OuterComparer);
        _innerComparer = typeof(TInner).IsValueType && (options.InnerComparer is null || ReferenceEquals(options.InnerComparer, EqualityComparer<TInner>.Default))
            ? null
            : options.InnerComparer ?? EqualityComparer<TInner>.Default;
        _initialInnerCapacity = options.InitialInnerCapacity;

        // Last: from here on a metrics listener may observe the map from another thread.
        _metricsId = NestedMapMetrics.Register(this);
    }

    /// <summary>Gets the number of entries across all outer keys.</summary>
    /// <value>
    /// Exact at quiescence; while other threads write, a recent value (read without locks). It counts entries still
    /// held, including expired ones not yet removed by a maintenance slice (removal follows the deadline within about
    /// one wheel tick, ~1 s); reads never return those.
    /// </value>
    public long Count => Math.Max(0, _count.Sum());

    /// <summary>Gets the number of outer keys.</summary>
    /// <value>
    /// Exact at quiescence, when it equals the number of outer keys that hold entries; while other threads write, a
    /// recent value that may include an inner map a writer has just created and not yet filled.
    /// </value>
    public int OuterCount => (int)Math.Clamp(_outerCount.Sum(), 0, int.MaxValue);

    /// <summary>Gets whether the map holds no entry.</summary>
    /// <value><see langword="true"/> when no outer key holds an entry at the moment each is looked at.</value>
    public bool IsEmpty
    {
        get
        {
            foreach (var pair in _outer)
            {
                if (pair.Value.Count > 0)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Gets or sets the value of an entry.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <returns>The value stored for (<paramref name="outer"/>, <paramref name="inner"/>).</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    /// <exception cref="KeyNotFoundException">On get, the entry does not exist.</exception>
    /// <remarks>The setter is <see cref="Set(TOuter, TInner, TValue)"/>: it creates the inner map when needed.</remarks>
    public TValue this[TOuter outer, TInner inner]
    {
        get
        {
            if (!TryGetValue(outer, inner, out var value))
            {
                ThrowHelper.ThrowKeyNotFound(outer, inner);
            }

            return value;
        }

        set => Set(outer, inner, value);
    }

    /// <summary>Gets the value of an entry, without taking a lock.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="value">The value when found; otherwise the default of <typeparamref name="TValue"/>.</param>
    /// <returns><see langword="true"/> when the entry exists.</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    /// <remarks>
    /// An entry whose deadline has passed is not returned, even before it is removed. With sliding expiry, a read
    /// extends the entry's life; a read that extends it while its inner map is being resized waits for the resize to end
    /// (the one case in which a read waits on a lock), so that the extension reaches the resized map.
    /// </remarks>
    public bool TryGetValue(TOuter outer, TInner inner, [MaybeNullWhen(false)] out TValue value)
    {
        var node = FindNode(outer, inner, HashOf(inner));
        if (node is not null)
        {
            value = node.Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Gets whether an entry exists, without taking a lock.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <returns><see langword="true"/> when the entry exists.</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    /// <remarks>A read, as <see cref="TryGetValue"/> is: it extends a sliding deadline.</remarks>
    public bool ContainsKey(TOuter outer, TInner inner) => FindNode(outer, inner, HashOf(inner)) is not null;

    /// <summary>Gets whether an outer key holds at least one entry (counting expired entries not yet removed, as <see cref="Count"/> does, but not an outer key past its idle deadline), without taking a lock.</summary>
    /// <param name="outer">The outer key.</param>
    /// <returns><see langword="true"/> when the outer key holds an entry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="outer"/> is <see langword="null"/>.</exception>
    public bool ContainsOuter(TOuter outer) => CountOf(outer) > 0;

    /// <summary>Gets the number of entries under an outer key, without taking a lock.</summary>
    /// <param name="outer">The outer key.</param>
    /// <returns>
    /// The number of entries held, including expired ones not yet removed (see <see cref="Count"/>); 0 when the outer
    /// key is absent, or past its idle deadline (<see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireOuterAfterIdle"/>),
    /// which takes all its entries at once, whether or not they have been removed yet.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="outer"/> is <see langword="null"/>.</exception>
    /// <remarks>Counting is not an access: it does not extend the outer key's idle deadline.</remarks>
    public int CountOf(TOuter outer)
    {
        if (!typeof(TOuter).IsValueType && outer is null)
        {
            ThrowHelper.ThrowArgumentNull(nameof(outer));
        }

        if (!_outer.TryGetValue(outer, out var map))
        {
            return 0;
        }

        var count = map.Count;
        return count != 0 && IsOuterExpiredOnRead(map) ? 0 : count;
    }

    /// <summary>Copies the entries of one outer key.</summary>
    /// <param name="outer">The outer key.</param>
    /// <returns>
    /// A new dictionary that the caller owns, holding the entries of <paramref name="outer"/> at one instant (taken
    /// under the inner map's lock); empty when the outer key is absent. Later changes to the map do not show in it.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="outer"/> is <see langword="null"/>.</exception>
    /// <remarks>The live inner map is never handed out: a caller holding it could touch it without its lock.</remarks>
    public IReadOnlyDictionary<TInner, TValue> SnapshotOf(TOuter outer)
    {
        if (!typeof(TOuter).IsValueType && outer is null)
        {
            ThrowHelper.ThrowArgumentNull(nameof(outer));
        }

        var now = _time.GetTimestamp(); // never under a lock: see RunMaintenanceSlice
        while (_outer.TryGetValue(outer, out var map))
        {
            lock (map)
            {
                // A retired map was emptied and unlinked after our lookup: the outer key was empty at that instant.
                // A moved map was replaced by a resized successor: copy that one instead. An outer key past its idle
                // deadline is empty whether or not the sweeper has come (a read does not remove it; the sweeper or
                // the next write does, under this lock).
                if (map.IsLive)
                {
                    return IsOuterExpiredAt(map, now) ? new Dictionary<TInner, TValue>(0, _innerComparer) : map.Snapshot_NeedsLock(_innerComparer, now);
                }

                if (map.State == InnerMapState.Retired)
                {
                    break;
                }
            }
        }

        return new Dictionary<TInner, TValue>(0, _innerComparer);
    }

    // Null checks are written `!typeof(T).IsValueType && key is null`: the optimising JIT folds both forms to the same
    // code, but unoptimised (Debug) code boxes a value-type key for a bare `key is null`, allocating on every call.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int HashOf(TInner inner)
    {
        if (!typeof(TInner).IsValueType && inner is null)
        {
            ThrowHelper.ThrowArgumentNull(nameof(inner));
        }

        return typeof(TInner).IsValueType && _innerComparer is null
            ? EqualityComparer<TInner>.Default.GetHashCode(inner)
            : _innerComparer!.GetHashCode(inner);
    }

    /// <summary>Finds the node of a present, unexpired entry, without a lock; a read that counts as an access.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private InnerMap<TOuter, TInner, TValue>.Node? FindNode(TOuter outer, TInner inner, int hash)
    {
        if (!typeof(TOuter).IsValueType && outer is null)
        {
            ThrowHelper.ThrowArgumentNull(nameof(outer));
        }

        // No lock. If the map we find is being retired concurrently, we either see the entry (the read overlaps a
        // moment when it existed) or see none (the map was already empty, and a successor map for this outer key can
        // only be linked after this one is unlinked, so there was a moment during our read when the key was absent).
        if (!_outer.TryGetValue(outer, out var map))
        {
            return null;
        }

        var node = map.Find(inner, hash, _innerComparer);

        // Only an entry with a deadline, or a map that tracks idle outer keys, needs the clock: a plain entry in a map
        // without expiry pays one type check. With the system clock and nothing to slide, the coarse clock proves most
        // deadlines ahead right here (see CoarseClock); everything else goes to the full check.
        if (node is not null && (node is InnerMap<TOuter, TInner, TValue>.TimedNode || _idleTtl != 0))
        {
            if (node is InnerMap<TOuter, TInner, TValue>.TimedNode timed && _readClock is { } clock && clock.IsCertainlyAhead(Volatile.Read(ref timed.Deadline)))
            {
                return node;
            }

            if (!IsLiveOnRead(map, node))
            {
                return null;
            }
        }

        return node;
    }
}
