using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using NestMap.Internal;

namespace NestMap;

/// <content>The operations that add, change and remove entries, and the reclamation of emptied inner maps.</content>
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue>
{
    /// <summary>Stores a value, adding the entry or overwriting its value; creates the inner map when needed.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="value">The value to store.</param>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    /// <exception cref="NestedMapCapacityException">A bound would be exceeded and <see cref="NestedMapOptions{TOuter, TInner, TValue}.CapacityPolicy"/> is <see cref="CapacityPolicy.Reject"/>.</exception>
    /// <remarks>The entry's deadline is the map's default (<see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterWrite"/> or <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterAccess"/>), or none.</remarks>
    public void Set(TOuter outer, TInner inner, TValue value) => WriteCore(outer, inner, HashOf(inner), value, overwrite: true, ttl: null, throwWhenFull: true, out _);

    /// <summary>Stores a value that expires after <paramref name="timeToLive"/>, adding the entry or overwriting it; creates the inner map when needed.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="value">The value to store.</param>
    /// <param name="timeToLive">How long the entry lives from now, in place of the map's default; <see cref="Timeout.InfiniteTimeSpan"/> for no deadline.</param>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is zero or negative (other than infinite).</exception>
    /// <exception cref="NestedMapCapacityException">A bound would be exceeded and <see cref="NestedMapOptions{TOuter, TInner, TValue}.CapacityPolicy"/> is <see cref="CapacityPolicy.Reject"/>.</exception>
    /// <remarks>With <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterAccess"/>, later reads extend the entry's life by that window, as for any entry.</remarks>
    public void Set(TOuter outer, TInner inner, TValue value, TimeSpan timeToLive) =>
        WriteCore(outer, inner, HashOf(inner), value, overwrite: true, ValidTtl(timeToLive), throwWhenFull: true, out _);

    /// <summary>Adds an entry if it does not exist yet; creates the inner map when needed.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="value">The value to add.</param>
    /// <returns><see langword="true"/> when the entry was added; <see langword="false"/> when it already existed, or a bound refused it (<see cref="CapacityPolicy.Reject"/>).</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    public bool TryAdd(TOuter outer, TInner inner, TValue value) =>
        WriteCore(outer, inner, HashOf(inner), value, overwrite: false, ttl: null, throwWhenFull: false, out _) == WriteOutcome.Added;

    /// <summary>Adds an entry that expires after <paramref name="timeToLive"/> if it does not exist yet; creates the inner map when needed.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="value">The value to add.</param>
    /// <param name="timeToLive">How long the entry lives from now, in place of the map's default; <see cref="Timeout.InfiniteTimeSpan"/> for no deadline.</param>
    /// <returns><see langword="true"/> when the entry was added; <see langword="false"/> when it already existed, or a bound refused it (<see cref="CapacityPolicy.Reject"/>).</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeToLive"/> is zero or negative (other than infinite).</exception>
    public bool TryAdd(TOuter outer, TInner inner, TValue value, TimeSpan timeToLive) =>
        WriteCore(outer, inner, HashOf(inner), value, overwrite: false, ValidTtl(timeToLive), throwWhenFull: false, out _) == WriteOutcome.Added;

    /// <summary>Gets the value of an entry, adding it with a value from <paramref name="valueFactory"/> when it does not exist.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="valueFactory">Makes the value to add; runs outside every lock, and may run on several threads at once for the same entry, of which one result is stored.</param>
    /// <returns>The value now stored: the existing one, or the one added.</returns>
    /// <exception cref="ArgumentNullException">A key or <paramref name="valueFactory"/> is <see langword="null"/>.</exception>
    public TValue GetOrAdd(TOuter outer, TInner inner, Func<TOuter, TInner, TValue> valueFactory)
    {
        ArgumentNullException.ThrowIfNull(valueFactory);
        return GetOrAdd(outer, inner, static (o, i, factory) => factory(o, i), valueFactory);
    }

    /// <summary>Gets the value of an entry, adding it with a value from <paramref name="valueFactory"/> when it does not exist.</summary>
    /// <typeparam name="TArg">The type of the state passed to the factory.</typeparam>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="valueFactory">Makes the value to add; runs outside every lock, and may run on several threads at once for the same entry, of which one result is stored.</param>
    /// <param name="factoryArgument">State passed to <paramref name="valueFactory"/>, so that it need not capture.</param>
    /// <returns>The value now stored: the existing one, or the one added.</returns>
    /// <exception cref="ArgumentNullException">A key or <paramref name="valueFactory"/> is <see langword="null"/>.</exception>
    public TValue GetOrAdd<TArg>(TOuter outer, TInner inner, Func<TOuter, TInner, TArg, TValue> valueFactory, TArg factoryArgument)
    {
        ArgumentNullException.ThrowIfNull(valueFactory);
        var hash = HashOf(inner);
        var node = FindNode(outer, inner, hash);
        if (node is not null)
        {
            return node.Value;
        }

        var value = valueFactory(outer, inner, factoryArgument);

        // Another thread may have added the entry while the factory ran: WriteCore then hands back its value.
        return WriteCore(outer, inner, hash, value, overwrite: false, ttl: null, throwWhenFull: true, out var existing) == WriteOutcome.Added ? value : existing;
    }

    /// <summary>Gets the value of an entry, adding <paramref name="value"/> when it does not exist.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="value">The value to add when the entry does not exist.</param>
    /// <returns>The value now stored: the existing one, or <paramref name="value"/>.</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    public TValue GetOrAdd(TOuter outer, TInner inner, TValue value)
    {
        // The common case, a present entry, takes no lock.
        var hash = HashOf(inner);
        var node = FindNode(outer, inner, hash);
        if (node is not null)
        {
            return node.Value;
        }

        return WriteCore(outer, inner, hash, value, overwrite: false, ttl: null, throwWhenFull: true, out var existing) == WriteOutcome.Added ? value : existing;
    }

    /// <summary>Adds an entry or updates the existing one.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="addValueFactory">Makes the value when the entry does not exist; runs outside every lock.</param>
    /// <param name="updateValueFactory">Makes the new value from the current one; runs outside every lock and is re-run when another thread changed the entry (or resized its inner map) in the meantime.</param>
    /// <returns>The value now stored.</returns>
    /// <exception cref="ArgumentNullException">A key or a factory is <see langword="null"/>.</exception>
    public TValue AddOrUpdate(TOuter outer, TInner inner, Func<TOuter, TInner, TValue> addValueFactory, Func<TOuter, TInner, TValue, TValue> updateValueFactory)
    {
        ArgumentNullException.ThrowIfNull(addValueFactory);
        ArgumentNullException.ThrowIfNull(updateValueFactory);
        return AddOrUpdate(
            outer,
            inner,
            static (o, i, factories) => factories.Add(o, i),
            static (o, i, current, factories) => factories.Update(o, i, current),
            (Add: addValueFactory, Update: updateValueFactory));
    }

    /// <summary>Adds an entry with <paramref name="addValue"/> or updates the existing one.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="addValue">The value to add when the entry does not exist.</param>
    /// <param name="updateValueFactory">Makes the new value from the current one; runs outside every lock and is re-run when another thread changed the entry (or resized its inner map) in the meantime.</param>
    /// <returns>The value now stored.</returns>
    /// <exception cref="ArgumentNullException">A key or <paramref name="updateValueFactory"/> is <see langword="null"/>.</exception>
    public TValue AddOrUpdate(TOuter outer, TInner inner, TValue addValue, Func<TOuter, TInner, TValue, TValue> updateValueFactory)
    {
        ArgumentNullException.ThrowIfNull(updateValueFactory);
        return AddOrUpdate(
            outer,
            inner,
            static (_, _, state) => state.AddValue,
            static (o, i, current, state) => state.Update(o, i, current),
            (AddValue: addValue, Update: updateValueFactory));
    }

    /// <summary>Adds an entry or updates the existing one, passing state to the factories.</summary>
    /// <typeparam name="TArg">The type of the state passed to the factories.</typeparam>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="addValueFactory">Makes the value when the entry does not exist; runs outside every lock.</param>
    /// <param name="updateValueFactory">Makes the new value from the current one; runs outside every lock and is re-run when another thread changed the entry (or resized its inner map) in the meantime.</param>
    /// <param name="factoryArgument">State passed to both factories, so that they need not capture.</param>
    /// <returns>The value now stored.</returns>
    /// <exception cref="ArgumentNullException">A key or a factory is <see langword="null"/>.</exception>
    public TValue AddOrUpdate<TArg>(
        TOuter outer,
        TInner inner,
        Func<TOuter, TInner, TArg, TValue> addValueFactory,
        Func<TOuter, TInner, TValue, TArg, TValue> updateValueFactory,
        TArg factoryArgument)
    {
        ArgumentNullException.ThrowIfNull(addValueFactory);
        ArgumentNullException.ThrowIfNull(updateValueFactory);
        Keys<TOuter>.ThrowIfNull(outer);

        var hash = HashOf(inner);
        while (true)
        {
            if (_outer.Find(outer) is { } map && map.Find(inner, hash, _innerComparer) is { } node
                && NowIfTimed(node) is var seenAt && !node.IsExpiredAt(seenAt) && !IsOuterExpiredAt(map, seenAt))
            {
                // Optimistic update: read the version (volatile, so acquire) before the value, compute
                // outside the lock, then commit only if no write touched the entry in between. The writer's side
                // of this protocol is in InnerMap.Update_NeedsLock.
                var version = Volatile.Read(ref node.Version);
                var current = node.Value;
                var updated = updateValueFactory(outer, inner, current, factoryArgument);
                // Any wheel means deadlines may exist (per-call TTLs too): the commit must re-check expiry.
                var clocked = _timesEntries || _outerWheel is not null || _entryWheel is not null;
                var now = clocked ? _time.GetTimestamp() : 0;
                List<NestedRemoval<TOuter, TInner, TValue>>? removals = null;
                lock (map)
                {
                    // Race: the entry may have been rewritten, removed or expired (itself or its outer key), or its
                    // map retired or replaced by a resized successor, while the factory ran. Any of those fails the
                    // check below and we start over (an expired outer key then takes the add path, see WriteCore).
                    if (!map.IsLive || !map.IsUnchanged_NeedsLock(node, version, _innerComparer) || node.IsExpiredAt(now) || IsOuterExpiredAt(map, now))
                    {
                        continue;
                    }

                    TouchOuter_NeedsLock(map, now);
                    UpdateEntry_NeedsLock(map, node, updated, now, ttl: null, ref removals);
                }

                Notify(removals);
                AfterWrite(clocked, now);
                return updated;
            }
            else
            {
                var added = addValueFactory(outer, inner, factoryArgument);

                // Race: another thread may add the entry while the add factory runs; then we update instead.
                if (WriteCore(outer, inner, hash, added, overwrite: false, ttl: null, throwWhenFull: true, out _) == WriteOutcome.Added)
                {
                    return added;
                }
            }
        }
    }

    /// <summary>Replaces the value of an entry when its current value equals <paramref name="comparisonValue"/>.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="newValue">The value to store.</param>
    /// <param name="comparisonValue">The value the entry must hold, compared with <see cref="EqualityComparer{T}.Default"/>.</param>
    /// <returns><see langword="true"/> when the value was replaced; <see langword="false"/> when the entry is absent (or expired) or holds another value.</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    [MethodImpl(MethodImplOptions.NoInlining)] // see WritePathInlining below
    public bool TryUpdate(TOuter outer, TInner inner, TValue newValue, TValue comparisonValue)
    {
        Keys<TOuter>.ThrowIfNull(outer);

        var hash = HashOf(inner);
        var clocked = _timesEntries || _outerWheel is not null || _entryWheel is not null;
        var now = clocked ? _time.GetTimestamp() : 0;
        List<NestedRemoval<TOuter, TInner, TValue>>? removals = null;
        var updated = false;
        while (_outer.Find(outer) is { } map)
        {
            lock (map)
            {
                // A retired map is empty and unlinked: the entry was absent at the instant it was retired, which lies
                // within this call (see FindNode), so "not updated" is a correct answer. A moved map's entries live on
                // in its successor: look again.
                if (map.State != InnerMapState.Live)
                {
                    if (map.State == InnerMapState.Moved)
                    {
                        continue;
                    }

                    break;
                }

                // An outer key past its idle deadline holds no entry any more: nothing to update (the sweeper or the
                // next write removes it).
                var node = map.Find(inner, hash, _innerComparer);
                if (node is null || node.IsExpiredAt(now) || IsOuterExpiredAt(map, now) || !EqualityComparer<TValue>.Default.Equals(node.Value, comparisonValue))
                {
                    break;
                }

                TouchOuter_NeedsLock(map, now);
                UpdateEntry_NeedsLock(map, node, newValue, now, ttl: null, ref removals);
                updated = true;
                break;
            }
        }

        Notify(removals);
        if (updated)
        {
            AfterWrite(clocked, now);
        }

        return updated;
    }

    /// <summary>Removes an entry; when it was the last of its outer key, the outer key's inner map goes with it.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="inner">The inner key.</param>
    /// <param name="value">The removed value; the default of <typeparamref name="TValue"/> when nothing was removed.</param>
    /// <returns><see langword="true"/> when the entry was removed; <see langword="false"/> when it was absent or had expired (an expired entry is removed then, reported to <see cref="NestedMapOptions{TOuter, TInner, TValue}.OnRemoved"/> as expired).</returns>
    /// <exception cref="ArgumentNullException">A key is <see langword="null"/>.</exception>
    [MethodImpl(MethodImplOptions.NoInlining)] // see WritePathInlining below
    public bool TryRemove(TOuter outer, TInner inner, [MaybeNullWhen(false)] out TValue value)
    {
        Keys<TOuter>.ThrowIfNull(outer);

        var hash = HashOf(inner);
        var now = _entryWheel is not null || _idleTtl != 0 ? _time.GetTimestamp() : 0; // else 0: a placeholder, nothing can expire
        List<NestedRemoval<TOuter, TInner, TValue>>? removals = null;
        var removed = false;
        value = default;
        while (_outer.Find(outer) is { } map)
        {
            lock (map)
            {
                // As in TryUpdate: a retired map means the entry was absent at an instant within this call, and a
                // moved map means the entries are in its successor.
                if (map.State != InnerMapState.Live)
                {
                    if (map.State == InnerMapState.Moved)
                    {
                        continue;
                    }

                    break;
                }

                InnerMap<TOuter, TInner, TValue>.Node? node;
                try
                {
                    node = map.Find(inner, hash, _innerComparer);
                }
                catch
                {
                    // Only the comparer can throw here, before anything changed; but never leave an empty map linked.
                    ReclaimIfEmpty_NeedsLock(map);
                    throw;
                }

                // Nothing to remove: leave the map alone, even when it is empty. An empty live map is one a writer has
                // just linked and is about to fill; retiring it would only send that writer round again.
                if (node is null)
                {
                    break;
                }

                if (IsOuterExpiredAt(map, now))
                {
                    // The outer key passed its idle deadline: the entry is gone already, and the sweeper removes the
                    // outer key within a tick (or the next write to it does).
                    break;
                }

                var expired = node.IsExpiredAt(now);
                RemoveEntry_NeedsLock(map, node, expired ? RemovalReason.Expired : RemovalReason.Removed, now, ref removals);
                if (!expired)
                {
                    value = node.Value;
                    removed = true;
                }

                break;
            }
        }

        Notify(removals);
        return removed;
    }

    /// <summary>Removes an outer key with all its entries.</summary>
    /// <param name="outer">The outer key.</param>
    /// <returns>The number of entries removed, not counting entries already expired; 0 when the outer key was absent.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="outer"/> is <see langword="null"/>.</exception>
    public int RemoveOuter(TOuter outer)
    {
        Keys<TOuter>.ThrowIfNull(outer);

        return RemoveOuterCore(outer, RemovalReason.OuterRemoved);
    }

    /// <summary>Removes every entry and every inner map.</summary>
    /// <remarks>
    /// Not atomic as a whole: each inner map is removed atomically, one after another, so an entry written to an
    /// outer key that <see cref="Clear"/> has already passed survives it, as with a write made just after it.
    /// </remarks>
    public void Clear()
    {
        // RemoveOuterCore already retries past maps retired or replaced by a resize while we go.
        foreach (var map in _outer.Maps())
        {
            RemoveOuterCore(map.Outer, RemovalReason.Cleared);
        }
    }

    private int RemoveOuterCore(TOuter outer, RemovalReason reason)
    {
        List<NestedRemoval<TOuter, TInner, TValue>>? removals = null;
        var removed = 0;
        var now = _entryWheel is not null || _idleTtl != 0 ? _time.GetTimestamp() : 0; // else 0: a placeholder, nothing can expire
        while (_outer.Find(outer) is { } map)
        {
            lock (map)
            {
                // Race: someone else retired or replaced this map after our lookup; a successor holding entries may
                // be linked by now, so look again rather than report an empty outer key that is not.
                if (!map.IsLive)
                {
                    continue;
                }

                removed = Retire_NeedsLock(map, reason, now, ref removals, out var expired) - expired;
                break;
            }
        }

        Notify(removals);
        return removed;
    }

    /// <summary>
    /// Adds the entry, creating the inner map when needed; when the key is present, overwrites its value if
    /// <paramref name="overwrite"/> (Set) or hands back the present value (TryAdd, GetOrAdd). An expired entry counts
    /// as absent.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // see WritePathInlining below
    private WriteOutcome WriteCore(
        TOuter outer, TInner inner, int hash, TValue value, bool overwrite, TimeSpan? ttl, bool throwWhenFull, out TValue existing, bool sweptForRoom = false,
        string? retrySite = null, double retryWeight = 0)
    {
        var timed = _timesEntries || ttl is not null;
        var clocked = timed || _outerWheel is not null || _entryWheel is not null;
        var now = clocked ? _time.GetTimestamp() : 0;
        if (timed && _entryWheel is null)
        {
            EnsureEntryWheel();
        }

        // Sampling decides before any lock: a sampled call captures its stack here (see InsertionSampler). A retry after
        // a sweep keeps the first attempt's decision, so that one write never gets two chances to be sampled.
        string? site = retrySite;
        double sampleWeight = retryWeight;
        if (_sampler is { } sampler && !sweptForRoom)
        {
            site = sampler.SiteIfSampled(out sampleWeight);
        }

        List<NestedRemoval<TOuter, TInner, TValue>>? removals = null;
        WriteOutcome outcome;
        (string Name, long Limit) refusedBy = default;
        existing = default!;
        InnerMap<TOuter, TInner, TValue>? idleExpired = null;
        while (true)
        {
            if (idleExpired is not null)
            {
                RetireIfIdleExpired(idleExpired, now, ref removals);
                idleExpired = null;
            }

            var map = GetOrCreateInner(outer, now, ref removals);
            if (map is null)
            {
                outcome = WriteOutcome.Refused;
                refusedBy = (nameof(NestedMapOptions<,,>.MaxOuterKeys), _maxOuterKeys!.Value);
                break;
            }

            lock (map)
            {
                // Race resolved here (no lost write): between our lookup and this lock the map may have lost its last
                // entry to TryRemove, RemoveOuter, Clear, expiry or eviction and been retired and unlinked, or been
                // replaced by a resized successor. A write into it would be acknowledged and then unreachable, so we
                // retry with a fresh lookup, which finds the successor or links a new map. Retiring, replacing and
                // unlinking all happen under this same lock, so once we hold it and see the map live, it is linked,
                // and stays linked until someone takes our entry out of it.
                if (!map.IsLive)
                {
                    continue;
                }

                if (IsOuterExpiredAt(map, now))
                {
                    // The outer key passed its idle deadline: for readers it is gone with all its entries, swept or
                    // not. The write replaces it rather than revives it: its old entries are removed, reported as
                    // expired, exactly as the sweeper would have, and the retry links a fresh inner map, so no entry a
                    // reader saw expire comes back. The removal happens below, after this lock is released.
                    idleExpired = map;
                    continue;
                }

                try
                {
                    TouchOuter_NeedsLock(map, now);
                    var found = map.Find(inner, hash, _innerComparer);
                    if (found is not null && found.IsExpiredAt(now))
                    {
                        // Logically absent already: the write revives the node as a new entry, and the old value is
                        // reported as expired.
                        AddRemoval(ref removals, map.Outer, found.Key, found.Value, RemovalReason.Expired);
                        UpdateEntry_NeedsLock(map, found, value, now, ttl, ref removals, revive: true);
                        outcome = WriteOutcome.Added;
                    }
                    else if (found is null)
                    {
                        if (!MakeRoom_NeedsLock(map, now, ref removals, out refusedBy))
                        {
                            outcome = WriteOutcome.Refused;
                            break;
                        }

                        AddNew_NeedsLock(map, inner, hash, value, timed ? DeadlineFor(now, ttl) : 0, timed);
                        outcome = WriteOutcome.Added;
                    }
                    else
                    {
                        existing = found.Value;
                        if (overwrite)
                        {
                            UpdateEntry_NeedsLock(map, found, value, now, ttl, ref removals);
                        }

                        outcome = WriteOutcome.Existing;
                    }
                }
                finally
                {
                    ReclaimIfEmpty_NeedsLock(map);
                }
            }

            break;
        }

        Notify(removals);
        if (outcome == WriteOutcome.Refused)
        {
            // Entries past their deadline still count towards MaxEntries, and outer keys past their idle deadline
            // towards MaxOuterKeys, until a slice sweeps them: when a sweep is due, run it and try once more, so that a
            // map full of expired entries or idle outer keys does not refuse a live one. (MaxEntriesPerOuter makes
            // room from expired entries itself, under the outer key's lock.)
            if (!sweptForRoom && refusedBy.Name is nameof(NestedMapOptions<,,>.MaxEntries) or nameof(NestedMapOptions<,,>.MaxOuterKeys)
                && now >= Volatile.Read(ref _nextDue))
            {
                RunMaintenanceSlice();
                return WriteCore(outer, inner, hash, value, overwrite, ttl, throwWhenFull, out existing, sweptForRoom: true, site, sampleWeight);
            }

            if (throwWhenFull)
            {
                throw new NestedMapCapacityException(refusedBy.Name!, refusedBy.Limit);
            }

            return outcome;
        }

        if (site is not null && outcome == WriteOutcome.Added)
        {
            RecordSample(outer, inner, site, sampleWeight);
        }

        AfterWrite(clocked, now);
        return outcome;
    }

    // WritePathInlining: the write paths hold a lock (a try/finally), and .NET 10 inlines such methods into callers.
    // Inlined into a caller's hot loop, they forced the loop's variables onto the stack and slowed the caller's
    // lock-free reads in the same loop by about 2x (measured in bench/NestMap.Benchmarks, 90/10 workload), so they
    // stay out of line: a call costs little next to taking a lock.

    /// <summary>Returns the linked inner map of <paramref name="outer"/>, linking a new empty one when there is none.</summary>
    /// <returns>The map; <see langword="null"/> when a new one would pass <see cref="NestedMapOptions{TOuter, TInner, TValue}.MaxOuterKeys"/> under <see cref="CapacityPolicy.Reject"/>.</returns>
    /// <remarks>
    /// The returned map may be retired or replaced by the time the caller locks it; callers check <see cref="InnerMap{TOuter, TInner, TValue}.IsLive"/> under the lock and retry.
    /// A new map is empty until the caller's write lands (its failures reclaim it), so it is not seen empty at
    /// quiescence; the one gap is an out-of-memory error while taking the new map's lock, before any write.
    /// </remarks>
    private InnerMap<TOuter, TInner, TValue>? GetOrCreateInner(TOuter outer, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        Keys<TOuter>.ThrowIfNull(outer);

        var outerHash = _outer.HashOf(outer);
        InnerMap<TOuter, TInner, TValue>? created = null;
        while (true)
        {
            if (_outer.Find(outer, outerHash) is { } map)
            {
                return map;
            }

            if (_maxOuterKeys is { } maxOuterKeys && OuterCount >= maxOuterKeys)
            {
                if (!_evict)
                {
                    return null;
                }

                // No lock is held here, so eviction may take the wheel lock and the victim's lock. When every other
                // outer key is busy at this instant, the new one goes in anyway and the bound is passed briefly (as
                // documented on MaxOuterKeys): eviction never turns into a refusal.
                EvictOuterKey(now, ref removals);
            }

            created ??= InnerMap<TOuter, TInner, TValue>.Create(outer, outerHash, _initialInnerCapacity);

            // Race: two writers may both miss and both try to link a new map; TryAdd lets exactly one win, and the
            // loser's map was never visible to anyone, so it needs no reclaiming. TryAdd may throw before it links (an
            // outer comparer that throws, out of memory entering the table's lock) or after (a thread interrupted
            // while it waits for the locks to grow the table): the catch below reclaims the map if it is linked and
            // still empty. The outer table counts its maps as it links and unlinks them, so no count needs mending.
            bool linked;
            try
            {
                linked = _outer.TryAdd(created);
            }
            catch
            {
                ReclaimIfLinkedAndEmpty(created);
                throw;
            }

            if (linked)
            {
                return created;
            }
        }
    }

    /// <summary>Adds an entry whose key is absent from the live <paramref name="map"/>, growing it into a successor when it is full.</summary>
    private void AddNew_NeedsLock(InnerMap<TOuter, TInner, TValue> map, TInner inner, int hash, TValue value, long deadline, bool timed)
    {
        if (!timed)
        {
            var node = new InnerMap<TOuter, TInner, TValue>.Node(inner, hash, value, 0);
            if (map.IsFull_NeedsLock)
            {
                // Timed nodes of other entries, and the idle node, move to the successor: the wheel lock covers that.
                // Without it the sweeper could meet a node whose owner is the successor before the successor is linked,
                // and retire it unlinked (it would then be linked retired: a zombie).
                if (NeedsWheelLockToResize)
                {
                    lock (_wheelLock)
                    {
                        Replace_NeedsLock(map, map.GrowWith_NeedsLock(node, _entryWheel));
                    }
                }
                else
                {
                    Replace_NeedsLock(map, map.GrowWith_NeedsLock(node, null));
                }
            }
            else
            {
                map.AddNew_NeedsLock(node);
            }
        }
        else
        {
            lock (_wheelLock)
            {
                var wheel = _entryWheel!;
                var owner = map.IsFull_NeedsLock ? null : map;
                var node = new InnerMap<TOuter, TInner, TValue>.TimedNode(inner, hash, value, 0, deadline, map);
                if (owner is null)
                {
                    var successor = map.GrowWith_NeedsLock(node, wheel);
                    node.Owner = successor;
                    Replace_NeedsLock(map, successor);
                }
                else
                {
                    map.AddNew_NeedsLock(node);
                }

                wheel.Schedule(node);
                NoteDeadline_NeedsWheelLock(deadline);
            }
        }

        _count.Increment();
    }

    /// <summary>Gets whether a resize moves wheel nodes (timed entries or the idle node), so that it must hold the wheel lock.</summary>
    private bool NeedsWheelLockToResize => _entryWheel is not null || _outerWheel is not null;

    /// <summary>Swaps a resized <paramref name="successor"/> into the outer map in place of <paramref name="map"/>.</summary>
    private void Replace_NeedsLock(InnerMap<TOuter, TInner, TValue> map, InnerMap<TOuter, TInner, TValue> successor)
    {
        Debug.Assert(Monitor.IsEntered(map), "The inner map's lock must be held.");

        // Swap, then mark, both under the map's lock (as for retirement): a writer that looked the map up before the
        // swap blocks on the lock, sees the mark and retries on the successor. A lock-free reader still holding the
        // old map sees its contents as of this instant, which overlaps its read. The successor is published by the
        // volatile store inside TryReplace, which releases every earlier write to the successor's nodes. The swap
        // finds the old map by reference and keeps its stored hash, so it never calls the outer comparer; it can
        // throw only entering the table's lock, before anything changes: the old map then stays live and linked, and
        // the wheel still holds its nodes. The successor's copies take their places only after the swap, in
        // MarkMoved_NeedsLock, which allocates nothing and cannot fail, so no exception can come between the two.
        //
        // Race resolved here: from the swap on, other threads find the successor and may lock it and change its
        // chains (a TryRemove unlinks a node before it waits for the wheel lock we hold), while MarkMoved_NeedsLock
        // still walks those chains to hand the wheel places over; a copy unlinked ahead of the walk would stay out of
        // the wheel, and its original in it. So the successor's lock is held across both. Taking an inner map's lock
        // while holding the wheel lock inverts the usual order, but cannot deadlock: until the swap no other thread can
        // reach the successor, so the lock is free and taken at once, and nothing inside waits for another lock. (It
        // is taken before the swap also because entering a monitor may allocate.)
        lock (successor)
        {
            if (!_outer.TryReplace(map, successor))
            {
                throw new InvalidOperationException("Internal error: a live inner map was not linked under its outer key.");
            }

            map.MarkMoved_NeedsLock(successor);
        }
    }

    /// <summary>Replaces <paramref name="map"/> by a smaller successor when it has drained far below its size; best effort.</summary>
    private void ShrinkIfSparse_NeedsLock(InnerMap<TOuter, TInner, TValue> map)
    {
        try
        {
            if (NeedsWheelLockToResize)
            {
                lock (_wheelLock)
                {
                    if (map.ShrinkIfSparse_NeedsLock(_entryWheel) is { } smaller)
                    {
                        Replace_NeedsLock(map, smaller);
                    }
                }
            }
            else if (map.ShrinkIfSparse_NeedsLock(null) is { } smaller)
            {
                Replace_NeedsLock(map, smaller);
            }
        }
        catch (OutOfMemoryException)
        {
            // Shrinking only gives memory back; the removal that triggered it is done and must be reported as done.
        }
    }

    /// <summary>Retires <paramref name="map"/> if its outer key is still past its idle deadline at <paramref name="now"/>; the caller holds no lock and looks the outer key up again afterwards.</summary>
    /// <remarks>
    /// Lock order (see the Expiration remarks): a writer holding an inner map's lock may wait for the wheel lock, but
    /// here it need not, so it acts as the sweeper does: wheel lock first, then only a try of the map's lock. That keeps
    /// this path within what the systematic tests can check: Coyote's scheduler models <see cref="Monitor.TryEnter(object)"/>
    /// as a blocking acquire, and would report the sweeper's try against a writer that waits for the wheel lock while
    /// holding the map's as a deadlock (in .NET the try fails and the sweeper passes over the map).
    /// </remarks>
    private void RetireIfIdleExpired(InnerMap<TOuter, TInner, TValue> map, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        lock (_wheelLock)
        {
            // Race resolved here: between our check under the map's lock and now, another writer may have replaced
            // the outer key the same way, or the sweeper may have retired it, so decide again under both locks. A map
            // whose lock is busy now is left alone: the caller's retry blocks on that lock and checks again.
            if (!Monitor.TryEnter(map))
            {
                return;
            }

            try
            {
                if (map.IsLive && IsOuterExpiredAt(map, now))
                {
                    Retire_NeedsLock(map, RemovalReason.Expired, now, ref removals);
                }
            }
            finally
            {
                Monitor.Exit(map);
            }
        }
    }

    /// <summary>After a failed link attempt, reclaims <paramref name="created"/> if it did get linked and is still empty.</summary>
    private void ReclaimIfLinkedAndEmpty(InnerMap<TOuter, TInner, TValue> created)
    {
        if (ReferenceEquals(_outer.Find(created.Outer, created.OuterHash), created))
        {
            lock (created)
            {
                ReclaimIfEmpty_NeedsLock(created);
            }
        }
    }

    /// <summary>Retires and unlinks <paramref name="map"/> if it holds nothing (after a removal, or after a write that threw or was refused).</summary>
    private void ReclaimIfEmpty_NeedsLock(InnerMap<TOuter, TInner, TValue> map)
    {
        Debug.Assert(Monitor.IsEntered(map), "The inner map's lock must be held.");

        // A write that created this map and then failed (a throwing comparer, out of memory, a refusal) leaves it
        // empty: reclaim it here too, or it would stay linked as a zombie.
        if (map.Count == 0 && map.IsLive)
        {
            List<NestedRemoval<TOuter, TInner, TValue>>? none = null;
            Retire_NeedsLock(map, RemovalReason.Removed, now: 0, ref none);
        }
    }

    /// <summary>
    /// Removes one entry of the live <paramref name="map"/>: out of its table and the wheel, reported with
    /// <paramref name="reason"/>; retires the map when it was the last entry, else shrinks it when sparse.
    /// </summary>
    private void RemoveEntry_NeedsLock(
        InnerMap<TOuter, TInner, TValue> map, InnerMap<TOuter, TInner, TValue>.Node node, RemovalReason reason, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        RemoveEntryKeepMap_NeedsLock(map, node, reason, ref removals);
        if (map.Count == 0)
        {
            // The last entry went: retire and unlink the map before the lock is released.
            Retire_NeedsLock(map, reason, now, ref removals);
        }
        else
        {
            ShrinkIfSparse_NeedsLock(map);
        }
    }

    /// <summary>
    /// Retires <paramref name="map"/>: unlinks it, takes its nodes out of the wheels, reports its entries with
    /// <paramref name="reason"/> (expired ones as expired) and updates the counts; returns how many entries it held.
    /// </summary>
    /// <remarks><paramref name="now"/> classifies the entries as expired or not; it is read by the caller before taking any lock (see RunMaintenanceSlice).</remarks>
    private int Retire_NeedsLock(InnerMap<TOuter, TInner, TValue> map, RemovalReason reason, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals) =>
        Retire_NeedsLock(map, reason, now, ref removals, out _);

    private int Retire_NeedsLock(InnerMap<TOuter, TInner, TValue> map, RemovalReason reason, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals, out int expired)
    {
        Debug.Assert(Monitor.IsEntered(map), "The inner map's lock must be held.");

        // The unlink below cannot be undone, so everything that can fail comes before it, and nothing after it
        // allocates: an exception (out of memory) after the unlink would leave the map unlinked but still live, and a
        // writer that looked it up before the unlink would then add an entry nobody can reach. Before it: room for the
        // removal reports (the only allocation) and the wheel lock (entering a monitor may allocate its sync block).
        var held = map.Count;
        if (_onRemoved is not null && held != 0)
        {
            removals ??= new List<NestedRemoval<TOuter, TInner, TValue>>(held);
            removals.EnsureCapacity(removals.Count + held);
        }

        var wheeled = (held != 0 && _entryWheel is not null) || map.IdleNode is not null;
        var wheelLockTaken = false;
        try
        {
            if (wheeled)
            {
                Monitor.Enter(_wheelLock, ref wheelLockTaken);
            }

            // Unlink, then mark, both under the map's lock: a writer that looked the map up before the unlink blocks on
            // the lock and then sees the mark, so no write lands in an unlinked map. TryRemove unlinks this very map
            // (found by reference, never a successor) and never calls the outer comparer; if it throws (entering the
            // table's lock), nothing has changed: the map stays live and linked with its entries.
            var unlinked = _outer.TryRemove(map);
            Debug.Assert(unlinked, "A live map is linked.");
            var removed = map.Retire_NeedsLock();

            // From here on nothing allocates (the reports go into the room reserved above).
            expired = held != 0 || map.IdleNode is not null ? ForgetEntries_NeedsBothLocks(map, reason, now, ref removals) : 0;

            if (removed != 0)
            {
                _count.Add(-removed);
                CountRemovals(reason, removed - expired);
                CountRemovals(RemovalReason.Expired, expired);
            }

            return removed;
        }
        finally
        {
            if (wheelLockTaken)
            {
                Monitor.Exit(_wheelLock);
            }
        }
    }
}
