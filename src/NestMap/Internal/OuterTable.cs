using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NestMap.Internal;

/// <summary>
/// The outer level of the map: outer key → its linked inner map, as a chained hash table whose chains run through the
/// inner maps themselves (<see cref="InnerMap{TOuter, TInner, TValue}.NextOuter"/>). Readers take no lock; writers hold
/// the lock of the key's stripe; a resize holds every stripe's lock.
/// </summary>
/// <remarks>
/// <para>
/// Why not a <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}"/>: its chains are made of
/// nodes of its own, and its bucket array hangs off a tables object, so finding an inner map there takes two dependent
/// loads more than here (the tables object, and the node before the map). A random lookup in a large map is a chain of
/// cache misses, and this one level is half of them. Here the bucket array and the stripe locks are fields of this
/// object, and a bucket holds the first inner map of its chain.
/// </para>
/// <para>
/// Buckets are chosen by Fibonacci hashing (the top bits of the hash times 2^32/φ), and stripes by fewer of the same
/// top bits, so every stripe guards a fixed, contiguous range of hash products whatever the table's size, and the
/// range of a bucket in a smaller table is the union of whole buckets in any bigger one. The table only grows.
/// </para>
/// <para>
/// Lock-free reads. Writers keep the inner map's two rules: a map is complete before it is published at the head of
/// its chain, and an unlinked or replaced map keeps its <c>NextOuter</c>, so a reader standing on it walks on. A
/// resize is the one write that breaks the second rule: it relinks the maps into the new array, and a reader in the
/// old array can be carried into another chain and miss a present key. So a resize raises <see cref="_resizing"/>
/// before it relinks and publishes the new array before it lowers the flag, and a reader that finds nothing checks
/// both afterwards: if a resize overlapped its walk, it looks again under the stripe's lock, where no resize runs. A
/// reader that finds its key is right whatever happened meanwhile (the key compares equal). Only misses that overlap a
/// resize wait, and resizes are rare (the table doubles).
/// </para>
/// Lock order: a caller may hold inner-map locks and the wheel lock when it calls in; a stripe lock is always the last
/// lock taken. The only code that runs under a stripe lock and is not ours is the outer comparer's <c>Equals</c> (in
/// <see cref="TryAdd"/>, and in a lookup that overlapped a resize), as under <c>ConcurrentDictionary</c>'s locks: a
/// comparer must not call back into the map. Hashes are stored, so a resize never calls the comparer.
/// </remarks>
internal sealed class OuterTable<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>The largest bucket array; a table with more outer keys than this lets its chains grow instead.</summary>
    internal const int MaximumBuckets = 1 << 30;

    private const uint Fibonacci = 0x9E3779B9u;

    /// <summary>The outer-key comparer, or <see langword="null"/> for a value type with the default comparer (so the JIT can devirtualise).</summary>
    private readonly IEqualityComparer<TOuter>? _comparer;

    private readonly object[] _locks;

    /// <summary>The number of maps linked in each stripe, written under that stripe's lock.</summary>
    private readonly int[] _counts;

    /// <summary>32 - log2(stripe count): a stripe is the top bits of the hash product, as a bucket is.</summary>
    private readonly int _stripeShift;

    private volatile InnerMap<TOuter, TInner, TValue>?[] _buckets;

    /// <summary>Raised while a resize relinks the maps (see the remarks).</summary>
    private volatile bool _resizing;

    /// <summary>Makes an empty table with room for <paramref name="capacity"/> outer keys before it grows.</summary>
    /// <param name="capacity">The expected number of outer keys.</param>
    /// <param name="comparer">The outer-key comparer; <see langword="null"/> for the default.</param>
    /// <param name="stripes">The number of stripe locks, a power of two from 2 to 64; 0 to size it to the processor count (tests fix it).</param>
    public OuterTable(int capacity, IEqualityComparer<TOuter>? comparer, int stripes = 0)
    {
        Debug.Assert(stripes == 0 || (BitOperations.IsPow2(stripes) && stripes is >= 2 and <= 64), "A power of two from 2 to 64.");
        _comparer = Keys<TOuter>.Normalize(comparer);

        // At least 2 stripes (a shift of 32 would be a shift of 0), at most 64: outer keys are linked and unlinked far
        // less often than entries are written, so this is enough to keep writers on many cores apart.
        if (stripes == 0)
        {
            stripes = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount, 2, 64));
        }

        _locks = new object[stripes];
        for (var i = 0; i < stripes; i++)
        {
            _locks[i] = new object();
        }

        _counts = new int[stripes];
        _stripeShift = 32 - BitOperations.Log2((uint)stripes);
        var buckets = Math.Max(Math.Max(capacity, 16), stripes);
        _buckets = new InnerMap<TOuter, TInner, TValue>?[buckets >= MaximumBuckets ? MaximumBuckets : (int)BitOperations.RoundUpToPowerOf2((uint)buckets)];
    }

    /// <summary>Gets the number of linked maps (a sum of volatile reads: exact at quiescence).</summary>
    public int Count
    {
        get
        {
            var total = 0;
            for (var i = 0; i < _counts.Length; i++)
            {
                total += Volatile.Read(ref _counts[i]);
            }

            return total;
        }
    }

    /// <summary>Gets whether keys are a value type compared with the default comparer, so that <see cref="TryFindDefault"/> applies.</summary>
    public bool HasDefaultComparer => typeof(TOuter).IsValueType && _comparer is null;

    /// <summary>Gets the length of the bucket array (for tests).</summary>
    internal int BucketCount => _buckets.Length;

    /// <summary>Gets the hash of an outer key, as the table stores it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int HashOf(TOuter key)
    {
        Keys<TOuter>.ThrowIfNull(key, "outer");

        return typeof(TOuter).IsValueType && _comparer is null
            ? EqualityComparer<TOuter>.Default.GetHashCode(key)
            : _comparer!.GetHashCode(key);
    }

    /// <summary>Finds the linked map of <paramref name="key"/> without a lock; <see langword="null"/> when there is none.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public InnerMap<TOuter, TInner, TValue>? Find(TOuter key) => Find(key, HashOf(key));

    /// <summary>Finds the linked map of <paramref name="key"/>, whose hash is <paramref name="hash"/>, without a lock; <see langword="null"/> when there is none.</summary>
    /// <remarks>The map found may be retired or replaced by the time the caller looks at it; callers that write lock it and check its state.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public InnerMap<TOuter, TInner, TValue>? Find(TOuter key, int hash)
    {
        var buckets = _buckets;
        return Walk(Volatile.Read(ref buckets[IndexOf(hash, buckets.Length)]), key, hash) ?? FindAfterMiss(key, hash, buckets);
    }

    /// <summary>
    /// <see cref="Find(TOuter)"/> for value-type keys with the default comparer (<see cref="HasDefaultComparer"/>), made
    /// for the map's read path: it calls nothing, so a caller's loop keeps its variables in registers.
    /// </summary>
    /// <param name="key">The outer key.</param>
    /// <param name="found">The linked map of <paramref name="key"/>; <see langword="null"/> when there is none.</param>
    /// <returns><see langword="false"/> when the answer is not certain (a miss that overlapped a resize): then call <see cref="Find(TOuter)"/>.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryFindDefault(TOuter key, out InnerMap<TOuter, TInner, TValue>? found)
    {
        Debug.Assert(HasDefaultComparer, "Only for value-type keys with the default comparer.");
        var hash = EqualityComparer<TOuter>.Default.GetHashCode(key);
        var buckets = _buckets;
        found = WalkDefault(Volatile.Read(ref buckets[IndexOf(hash, buckets.Length)]), key, hash);
        return found is not null || NoResizeSince(buckets);
    }

    /// <summary>Links <paramref name="map"/> (live, empty, never linked before) unless its outer key already has a linked map.</summary>
    /// <returns><see langword="true"/> when it was linked.</returns>
    /// <remarks>
    /// Throws what the comparer throws, or out of memory entering the lock, before anything changes; growing the table
    /// afterwards is best effort (out of memory is swallowed), but a thread interrupted while it waits for the locks to
    /// grow throws after the map is linked.
    /// </remarks>
    public bool TryAdd(InnerMap<TOuter, TInner, TValue> map)
    {
        var hash = map.OuterHash;
        var stripe = StripeOf(hash);
        InnerMap<TOuter, TInner, TValue>?[] buckets;
        bool overBudget;
        lock (_locks[stripe])
        {
            // Under a stripe lock no resize runs, so the array is the current one and stays so.
            buckets = _buckets;
            ref var head = ref buckets[IndexOf(hash, buckets.Length)];
            if (Walk(head, map.Outer, hash) is not null)
            {
                return false;
            }

            // Rule (1): the map is complete before the volatile write publishes it.
            map.NextOuter = head;
            Volatile.Write(ref head, map);

            // A stripe's share of the buckets is its budget: over it, the table is likely over a load factor of 1.
            overBudget = ++_counts[stripe] > buckets.Length >> (32 - _stripeShift);
        }

        // The total decides (a lock-free sum): a stripe crowded by hashes that collide, with the table under a load
        // factor of 1, would otherwise take every stripe's lock on each of its adds only to find nothing to do.
        if (overBudget && buckets.Length < MaximumBuckets && Count > buckets.Length)
        {
            Grow(buckets);
        }

        return true;
    }

    /// <summary>Puts <paramref name="successor"/> (same outer key and hash, never linked before) in the place of the linked <paramref name="map"/>.</summary>
    /// <returns><see langword="false"/> when <paramref name="map"/> is not linked.</returns>
    public bool TryReplace(InnerMap<TOuter, TInner, TValue> map, InnerMap<TOuter, TInner, TValue> successor)
    {
        Debug.Assert(successor.OuterHash == map.OuterHash, "A successor has its predecessor's outer key.");
        lock (_locks[StripeOf(map.OuterHash)])
        {
            ref var slot = ref SlotOf_NeedsLock(map);
            if (Unsafe.IsNullRef(ref slot))
            {
                return false;
            }

            // Rule (2): the replaced map keeps its NextOuter, so a reader standing on it walks on.
            successor.NextOuter = map.NextOuter;
            Volatile.Write(ref slot, successor);
            return true;
        }
    }

    /// <summary>Unlinks <paramref name="map"/> if it is linked.</summary>
    /// <returns><see langword="false"/> when it was not linked.</returns>
    public bool TryRemove(InnerMap<TOuter, TInner, TValue> map)
    {
        var stripe = StripeOf(map.OuterHash);
        lock (_locks[stripe])
        {
            ref var slot = ref SlotOf_NeedsLock(map);
            if (Unsafe.IsNullRef(ref slot))
            {
                return false;
            }

            // Rule (2): the unlinked map keeps its NextOuter, so a reader standing on it walks on.
            Volatile.Write(ref slot, map.NextOuter);
            _counts[stripe]--;
            return true;
        }
    }

    /// <summary>Enumerates the linked maps; never throws while other threads write.</summary>
    /// <remarks>
    /// Weakly consistent: a map linked for the whole enumeration is returned exactly once; one linked, unlinked or
    /// replaced meanwhile may or may not be. The walk goes through ranges of hash products in order, one bucket at a
    /// time, and walks a bucket again (under its stripe's lock, the only time it blocks writers) when a resize relinked
    /// it meanwhile. Since the table only grows, a range that was one bucket stays whole buckets, so no map is returned
    /// twice and none is skipped.
    /// </remarks>
    public IEnumerable<InnerMap<TOuter, TInner, TValue>> Maps()
    {
        const ulong end = 1UL << 32;
        var found = new List<InnerMap<TOuter, TInner, TValue>>();
        ulong next = 0;
        while (next < end)
        {
            var buckets = _buckets;
            var bits = BitOperations.Log2((uint)buckets.Length);
            var index = (int)(next >> (32 - bits));
            found.Clear();
            for (var map = Volatile.Read(ref buckets[index]); map is not null; map = Volatile.Read(ref map.NextOuter))
            {
                found.Add(map);
            }

            if (!NoResizeSince(buckets))
            {
                // A resize overlapped the walk: walk the same range of the new array under its stripe's lock.
                found.Clear();
                lock (_locks[(int)(next >> _stripeShift)])
                {
                    buckets = _buckets;
                    bits = BitOperations.Log2((uint)buckets.Length);
                    index = (int)(next >> (32 - bits));
                    for (var map = buckets[index]; map is not null; map = map.NextOuter)
                    {
                        found.Add(map);
                    }
                }
            }

            foreach (var map in found)
            {
                yield return map;
            }

            next += 1UL << (32 - bits);
        }
    }

    /// <summary>Walks the table under every stripe's lock and returns the maps found and those in a bucket their hash does not select (for integrity checks).</summary>
    internal (int Maps, int Misplaced) CountMaps()
    {
        var taken = 0;
        try
        {
            for (; taken < _locks.Length; taken++)
            {
                Monitor.Enter(_locks[taken]);
            }

            var buckets = _buckets;
            int maps = 0, misplaced = 0;
            for (var i = 0; i < buckets.Length; i++)
            {
                for (var map = buckets[i]; map is not null; map = map.NextOuter)
                {
                    maps++;
                    misplaced += IndexOf(map.OuterHash, buckets.Length) == i ? 0 : 1;
                }
            }

            return (maps, misplaced);
        }
        finally
        {
            while (taken > 0)
            {
                Monitor.Exit(_locks[--taken]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOf(int hash, int length) =>
        (int)(((uint)hash * Fibonacci) >> (BitOperations.LeadingZeroCount((uint)length) + 1));

    private int StripeOf(int hash) => (int)(((uint)hash * Fibonacci) >> _stripeShift);

    /// <summary>Returns the map of <paramref name="key"/> in the chain that starts at <paramref name="map"/>, or <see langword="null"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private InnerMap<TOuter, TInner, TValue>? Walk(InnerMap<TOuter, TInner, TValue>? map, TOuter key, int hash) =>
        typeof(TOuter).IsValueType && _comparer is null ? WalkDefault(map, key, hash) : FindWithComparer(map, key, hash);

    /// <summary>The chain walk for value-type keys with the default comparer: it calls nothing, so it can sit in a caller's hot loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static InnerMap<TOuter, TInner, TValue>? WalkDefault(InnerMap<TOuter, TInner, TValue>? map, TOuter key, int hash)
    {
        while (map is not null)
        {
            if (map.OuterHash == hash && EqualityComparer<TOuter>.Default.Equals(map.Outer, key))
            {
                return map;
            }

            map = Volatile.Read(ref map.NextOuter);
        }

        return null;
    }

    /// <summary>Gets whether no resize relinked the chains since <paramref name="buckets"/> was read (call it after a walk of them).</summary>
    /// <remarks>
    /// Race resolved here: a resize may have relinked the maps under the walk and carried it out of its chain. The
    /// walk's reads were volatile (acquire), so these two reads come after them: a walk that saw any relinked map sees
    /// the flag raised, or the new array if the resize has ended since (it is published before the flag is lowered).
    /// If neither, no resize touched the chains during the walk.
    /// </remarks>
    private bool NoResizeSince(InnerMap<TOuter, TInner, TValue>?[] buckets) => !_resizing && ReferenceEquals(buckets, _buckets);

    /// <summary>The chain walk with a comparer, out of line so that the lookup of value-type keys stays small.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private InnerMap<TOuter, TInner, TValue>? FindWithComparer(InnerMap<TOuter, TInner, TValue>? map, TOuter key, int hash)
    {
        Debug.Assert(_comparer is not null, "Called only with a comparer.");
        while (map is not null)
        {
            if (map.OuterHash == hash && _comparer.Equals(map.Outer, key))
            {
                return map;
            }

            map = Volatile.Read(ref map.NextOuter);
        }

        return null;
    }

    /// <summary>Decides a miss of <see cref="Find(TOuter, int)"/> that walked <paramref name="buckets"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private InnerMap<TOuter, TInner, TValue>? FindAfterMiss(TOuter key, int hash, InnerMap<TOuter, TInner, TValue>?[] buckets)
    {
        if (NoResizeSince(buckets))
        {
            return null; // a true miss
        }

        // A resize overlapped the walk: look again under the stripe's lock, where no resize runs.
        lock (_locks[StripeOf(hash)])
        {
            var current = _buckets;
            return Walk(current[IndexOf(hash, current.Length)], key, hash);
        }
    }

    /// <summary>Returns the slot that holds <paramref name="map"/> (a bucket or a predecessor's link), or a null reference.</summary>
    private ref InnerMap<TOuter, TInner, TValue>? SlotOf_NeedsLock(InnerMap<TOuter, TInner, TValue> map)
    {
        var buckets = _buckets;
        ref var slot = ref buckets[IndexOf(map.OuterHash, buckets.Length)];
        while (slot is not null)
        {
            if (ReferenceEquals(slot, map))
            {
                return ref slot;
            }

            slot = ref slot.NextOuter;
        }

        return ref Unsafe.NullRef<InnerMap<TOuter, TInner, TValue>?>();
    }

    /// <summary>Doubles the bucket array if it is still <paramref name="seen"/> and the table is over a load factor of 1; best effort.</summary>
    private void Grow(InnerMap<TOuter, TInner, TValue>?[] seen)
    {
        var taken = 0;
        try
        {
            for (; taken < _locks.Length; taken++)
            {
                Monitor.Enter(_locks[taken]);
            }

            // Another writer may have grown the table meanwhile, or this stripe may be over its share only because of
            // how the hashes fall (the total is what matters; a table grown for one crowded stripe would keep doubling
            // on keys whose hashes collide).
            if (!ReferenceEquals(seen, _buckets) || seen.Length >= MaximumBuckets || Count <= seen.Length)
            {
                return;
            }

            // Everything that can fail (the allocation) comes before the first relink.
            var grown = new InnerMap<TOuter, TInner, TValue>?[seen.Length * 2];

            // The flag must be visible before any relinked NextOuter is: the full fence orders this store before the
            // relinking stores on every platform (a release store alone would not keep later stores behind it).
            _resizing = true;
            Interlocked.MemoryBarrier();
            foreach (var head in seen)
            {
                var map = head;
                while (map is not null)
                {
                    // The fence above already orders these stores after the flag; the store is volatile only so that
                    // the systematic tests can run a reader between two relinks (their scheduler switches at volatile
                    // accesses).
                    var next = map.NextOuter;
                    ref var slot = ref grown[IndexOf(map.OuterHash, grown.Length)];
                    Volatile.Write(ref map.NextOuter, slot);
                    slot = map;
                    map = next;
                }
            }

            // Published before the flag is lowered: a reader that sees the flag down and the old array did not overlap
            // the relinking (see FindAfterMiss).
            _buckets = grown;
            _resizing = false;
        }
        catch (OutOfMemoryException)
        {
            // Growing only keeps chains short; the add that asked for it is done and must be reported as done.
        }
        finally
        {
            while (taken > 0)
            {
                Monitor.Exit(_locks[--taken]);
            }
        }
    }
}
