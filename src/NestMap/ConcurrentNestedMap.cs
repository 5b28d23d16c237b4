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
/// <see cref="ContainsOuter"/>, <see cref="CountOf"/>) take no lock, but for two rare cases: with
/// <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterAccess"/>, a read that extends an entry's deadline while
/// its inner map is being resized waits for the resize to end; and a read of an absent outer key that overlaps a resize
/// of the outer table (which doubles it) waits for that resize to end. Writes take one lock: the lock of the inner map
/// of their outer key, so writers to different outer keys do not contend. Factories passed to
/// <see cref="GetOrAdd(TOuter, TInner, Func{TOuter, TInner, TValue})"/> and
/// <see cref="AddOrUpdate(TOuter, TInner, Func{TOuter, TInner, TValue}, Func{TOuter, TInner, TValue, TValue})"/> run
/// outside every lock, as with <see cref="ConcurrentDictionary{TKey, TValue}"/>: under contention a factory may run
/// more than once and only one result is stored. Exceptions thrown by factories and comparers propagate to the caller
/// and leave the map as it was. Comparers run while a lock is held and must not call back into the map.
/// </para>
/// <para>
/// Aggregates (<see cref="Count"/>, <see cref="OuterCount"/>, <see cref="IsEmpty"/>) and enumeration are weakly
/// consistent while other threads write: they never throw, and they are exact at quiescence. They never block writers,
/// but for enumeration when the outer table is resized under it: it then holds one stripe of outer-key writers back
/// while it walks one bucket again.
/// </para>
/// </remarks>
[DebuggerDisplay("Count = {Count}, OuterCount = {OuterCount}")]
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>Outer key → its inner map. Only maps that are not retired are linked here (see <see cref="InnerMap{TOuter, TInner, TValue}"/>).</summary>
    private readonly OuterTable<TOuter, TInner, TValue> _outer;

    /// <summary>The inner-key comparer, or <see langword="null"/> for a value type with the default comparer (so the JIT can devirtualise).</summary>
    private readonly IEqualityComparer<TInner>? _innerComparer;

    /// <summary>Whether both keys are value types compared with the default comparers (see <see cref="FindNode(TOuter, TInner)"/>).</summary>
    private readonly bool _defaultKeys;

    private readonly int _initialInnerCapacity;
    private readonly StripedCounter _count = new();

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

        _outer = new OuterTable<TOuter, TInner, TValue>(options.InitialOuterCapacity, options.OuterComparer);
        _innerComparer = Keys<TInner>.Normalize(options.InnerComparer);
        _initialInnerCapacity = options.InitialInnerCapacity;
        _defaultKeys = _innerComparer is null && _outer.HasDefaultComparer;

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
    /// recent value that may include an inner map a writer has just created and not yet filled (the outer table's own
    /// count of linked maps, kept per lock stripe as it links and unlinks them).
    /// </value>
    public int OuterCount => _outer.Count;

    /// <summary>Gets whether the map holds no entry.</summary>
    /// <value><see langword="true"/> when no outer key holds an entry at the moment each is looked at.</value>
    public bool IsEmpty
    {
        get
        {
            foreach (var map in _outer.Maps())
            {
                if (map.Count > 0)
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
        var node = FindNode(outer, inner);
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
    public bool ContainsKey(TOuter outer, TInner inner) => FindNode(outer, inner) is not null;

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
        Keys<TOuter>.ThrowIfNull(outer);

        if (_outer.Find(outer) is not { } map)
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
        Keys<TOuter>.ThrowIfNull(outer);

        var now = _time.GetTimestamp(); // never under a lock: see RunMaintenanceSlice
        while (_outer.Find(outer) is { } map)
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int HashOf(TInner inner)
    {
        Keys<TInner>.ThrowIfNull(inner);

        return typeof(TInner).IsValueType && _innerComparer is null
            ? EqualityComparer<TInner>.Default.GetHashCode(inner)
            : _innerComparer!.GetHashCode(inner);
    }

    /// <summary>Finds the node of a present, unexpired entry, without a lock; a read that counts as an access.</summary>
    /// <remarks>
    /// For value-type keys with the default comparers, the inlined path calls nothing but the out-of-line tails
    /// (<see cref="FindNodeOutOfLine"/>, <see cref="CheckOnRead"/>) whose result it returns as is. A random lookup in
    /// a large map is a chain of cache misses, and the processor overlaps the misses of the next lookup with the current
    /// one only as far as its instruction window reaches: a value live across a call would go to the stack in the
    /// caller's loop, and every such store and reload makes each lookup longer. The comparer and expiry paths are there,
    /// out of line, for that reason.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private InnerMap<TOuter, TInner, TValue>.Node? FindNode(TOuter outer, TInner inner)
    {
        if (typeof(TOuter).IsValueType && typeof(TInner).IsValueType)
        {
            // A null Nullable<T> key goes the general way, which throws (the test folds away for other value types).
            return _defaultKeys && !Keys<TOuter>.IsNull(outer) && !Keys<TInner>.IsNull(inner)
                ? FindNodeDefaultKeys(outer, inner, EqualityComparer<TInner>.Default.GetHashCode(inner))
                : FindNodeOutOfLine(outer, inner);
        }

        return FindNodeAnyKeys(outer, inner, HashOf(inner));
    }

    /// <summary><see cref="FindNode(TOuter, TInner)"/> for a caller that has the inner key's hash already.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private InnerMap<TOuter, TInner, TValue>.Node? FindNode(TOuter outer, TInner inner, int hash)
    {
        if (typeof(TOuter).IsValueType && typeof(TInner).IsValueType)
        {
            return _defaultKeys && !Keys<TOuter>.IsNull(outer) ? FindNodeDefaultKeys(outer, inner, hash) : FindNodeOutOfLine(outer, inner);
        }

        return FindNodeAnyKeys(outer, inner, hash);
    }

    /// <summary>The read path of value-type keys with the default comparers; calls nothing but tails whose result it returns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private InnerMap<TOuter, TInner, TValue>.Node? FindNodeDefaultKeys(TOuter outer, TInner inner, int hash)
    {
        if (!_outer.TryFindDefault(outer, out var map))
        {
            return FindNodeOutOfLine(outer, inner);
        }

        if (map is null)
        {
            return null;
        }

        var node = map.Find(inner, hash, comparer: null);
        return node is not null && (node is InnerMap<TOuter, TInner, TValue>.TimedNode || _idleTtl != 0) ? CheckOnRead(map, node) : node;
    }

    /// <summary>The general read path, out of line: the fallback of the value-type read path, kept out of its loop.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private InnerMap<TOuter, TInner, TValue>.Node? FindNodeOutOfLine(TOuter outer, TInner inner) => FindNodeAnyKeys(outer, inner, HashOf(inner));

    /// <summary>The general read path: any keys, any comparers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private InnerMap<TOuter, TInner, TValue>.Node? FindNodeAnyKeys(TOuter outer, TInner inner, int hash)
    {
        Keys<TOuter>.ThrowIfNull(outer);

        // No lock. If the map we find is being retired concurrently, we either see the entry (the read overlaps a
        // moment when it existed) or see none (the map was already empty, and a successor map for this outer key can
        // only be linked after this one is unlinked, so there was a moment during our read when the key was absent).
        if (_outer.Find(outer) is not { } map)
        {
            return null;
        }

        var node = map.Find(inner, hash, _innerComparer);

        // Only an entry with a deadline, or a map that tracks idle outer keys, needs the clock: a plain entry in a map
        // without expiry pays one type check and one field read.
        if (node is not null && (node is InnerMap<TOuter, TInner, TValue>.TimedNode || _idleTtl != 0))
        {
            return CheckOnRead(map, node);
        }

        return node;
    }

    /// <summary>The expiry half of <see cref="FindNode(TOuter, TInner)"/>: the node when it is live at this read, else <see langword="null"/>.</summary>
    /// <remarks>
    /// Kept out of line on purpose (see <see cref="FindNode(TOuter, TInner)"/>): inlined, its clock reads and calls made the JIT keep
    /// the caller's loop variables on the stack.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private InnerMap<TOuter, TInner, TValue>.Node? CheckOnRead(InnerMap<TOuter, TInner, TValue> map, InnerMap<TOuter, TInner, TValue>.Node node)
    {
        // With the system clock and nothing to slide, the coarse clock proves most deadlines ahead right here (see
        // CoarseClock); everything else goes to the full check.
        if (node is InnerMap<TOuter, TInner, TValue>.TimedNode timed && _readClock is { } clock && clock.IsCertainlyAhead(Volatile.Read(ref timed.Deadline)))
        {
            return node;
        }

        return IsLiveOnRead(map, node) ? node : null;
    }
}
