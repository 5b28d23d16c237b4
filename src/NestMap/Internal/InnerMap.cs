using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NestMap.Internal;

/// <summary>
/// The inner map of one outer key: a fixed-size chained hash table whose readers take no lock and whose writers hold
/// the monitor of this object. It never resizes in place: a resize builds a successor and swaps it into the outer map.
/// </summary>
/// <remarks>
/// <para>
/// Why not a <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}"/> per outer key: its lock
/// array and per-lock counts make an empty one cost ~520 B on 2 CPUs and ~1 KB on 16, paid once per outer key. This
/// table costs 64 B (its outer-table link included) plus its bucket array, and one monitor (the object header's thin lock, no allocation) guards all
/// of it: an inner map is small and its writers are spread over many outer keys, so one lock per inner map is the
/// right granularity.
/// </para>
/// <para>
/// Why the bucket array never changes: a lookup is a chain of dependent memory loads (outer bucket, inner map, bucket,
/// node), each a likely cache miss in a large map. With the array and its Fibonacci shift both read-only fields of
/// this object, one cache line gives both, and the bucket index needs no read of the array's length (the index is in
/// range by construction), which takes one dependent miss off every lookup. The price is that growing or shrinking
/// makes a new inner map (see <see cref="GrowWith_NeedsLock"/>); the owner then marks this one
/// <see cref="InnerMapState.Moved"/> and swaps the successor into the outer map under this lock, exactly as it unlinks
/// an emptied map, so writers that meet a moved map retry on the successor.
/// </para>
/// <para>
/// Lock-free reads. Readers walk the chains with volatile reads. Writers keep two rules that make that safe: (1) a new
/// node is fully initialised before it is published at the head of its chain; (2) removal unlinks a node by pointing
/// its predecessor past it and never changes the removed node's own <see cref="Node.Next"/>, so a reader standing on
/// it still reaches the rest of the chain. A reader therefore sees each chain as it was at some instant during its
/// walk. Values are written in place only when <typeparamref name="TValue"/> is written atomically
/// (<see cref="ValueWriteIsAtomic"/>); otherwise an update replaces the node, so a reader never sees a torn value.
/// </para>
/// Members whose names end in <c>_NeedsLock</c> require the caller to hold <c>lock (this)</c>.
/// </remarks>
internal sealed class InnerMap<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>The smallest bucket array; at least 2 so that the Fibonacci shift is never 32.</summary>
    internal const int MinimumBuckets = 2;

    /// <summary>The largest bucket array; a map that holds more entries than this lets its chains grow instead.</summary>
    internal const int MaximumBuckets = 1 << 30;

    /// <summary>Whether a plain store of <typeparamref name="TValue"/> is atomic, so values may be updated in place.</summary>
    internal static readonly bool ValueWriteIsAtomic = IsValueWriteAtomic();

    private readonly Node?[] _buckets;
    private readonly int _shift;
    private volatile int _count;
    private volatile InnerMapState _state;

    /// <summary>The next inner map in this map's chain of the outer table (see <see cref="OuterTable{TOuter, TInner, TValue}"/>); written only under the outer table's locks.</summary>
    /// <remarks>A field, not a property, so that readers can walk it with <see cref="Volatile.Read{T}(ref readonly T)"/>.</remarks>
    internal InnerMap<TOuter, TInner, TValue>? NextOuter;

    private InnerMap(TOuter outer, int outerHash, int bucketCount)
    {
        Outer = outer;
        OuterHash = outerHash;
        Debug.Assert(BitOperations.IsPow2(bucketCount) && bucketCount >= MinimumBuckets, "Bucket counts are powers of two, at least 2.");
        _buckets = new Node?[bucketCount];

        // Index = the top log2(bucketCount) bits of the 32-bit Fibonacci product: shift = 32 - log2(bucketCount).
        _shift = BitOperations.LeadingZeroCount((uint)bucketCount) + 1;
    }

    /// <summary>Makes an empty, live inner map with room for <paramref name="capacity"/> entries before it grows.</summary>
    /// <param name="outer">The outer key.</param>
    /// <param name="outerHash">The outer key's hash, as the outer table computes it.</param>
    /// <param name="capacity">The number of entries it takes before it grows.</param>
    public static InnerMap<TOuter, TInner, TValue> Create(TOuter outer, int outerHash, int capacity) => new(outer, outerHash, BucketCountFor(capacity));

    /// <summary>Gets the outer key this map is linked under (the expiry sweeper needs it to unlink the map).</summary>
    public TOuter Outer { get; }

    /// <summary>Gets the hash of <see cref="Outer"/>, computed once when the first map of the key is made, and kept by its successors.</summary>
    public int OuterHash { get; }

    /// <summary>
    /// Gets or sets the node that stands for the whole outer key in the outer-key wheel (idle expiry, outer-key bounds);
    /// <see langword="null"/> when the map tracks neither. Changed only under this map's lock and the wheel lock.
    /// </summary>
    public TimedNode? IdleNode { get; set; }

    /// <summary>Gets the number of entries (a volatile read; exact under the lock, a recent value without it).</summary>
    public int Count => _count;

    /// <summary>Gets the map's state; read it under the lock to act on it.</summary>
    public InnerMapState State => _state;

    /// <summary>Gets whether the map takes writes (it is linked in the outer map); read it under the lock to act on it.</summary>
    public bool IsLive => _state == InnerMapState.Live;

    /// <summary>Gets the bucket array for a lock-free walk (see the class remarks for what a walker may rely on).</summary>
    public Node?[] Buckets => _buckets;

    /// <summary>Gets whether the next new entry needs a bigger table (load factor 1).</summary>
    public bool IsFull_NeedsLock => _count >= _buckets.Length && _buckets.Length < MaximumBuckets;

    /// <summary>Finds the node of <paramref name="key"/> without a lock; <see langword="null"/> when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Node? Find(TInner key, int hash, IEqualityComparer<TInner>? comparer)
    {
        var node = Volatile.Read(ref BucketOf(hash));

        // Value types with the default comparer go through EqualityComparer<TInner>.Default, which the JIT
        // devirtualises and inlines; reference types always carry a comparer (see ConcurrentNestedMap's constructor).
        if (typeof(TInner).IsValueType && comparer is null)
        {
            while (node is not null)
            {
                if (node.Hash == hash && EqualityComparer<TInner>.Default.Equals(node.Key, key))
                {
                    return node;
                }

                node = Volatile.Read(ref node.Next);
            }
        }
        else
        {
            Debug.Assert(comparer is not null, "Reference-type keys always have a comparer.");
            while (node is not null)
            {
                if (node.Hash == hash && comparer.Equals(node.Key, key))
                {
                    return node;
                }

                node = Volatile.Read(ref node.Next);
            }
        }

        return null;
    }

    /// <summary>Adds an entry whose key is known to be absent, in a table that is not full.</summary>
    public void AddNew_NeedsLock(Node node)
    {
        AssertLocked();
        Debug.Assert(IsLive, "Only a live inner map takes entries; the caller must retry.");
        Debug.Assert(!IsFull_NeedsLock, "A full table grows into a successor instead.");
        ref var head = ref BucketOf(node.Hash);

        // Rule (1): the node is complete before the volatile write publishes it.
        node.Next = head;
        Volatile.Write(ref head, node);
        _count++;
    }

    /// <summary>Builds the successor of this full map: twice the buckets, every entry, plus the new one.</summary>
    /// <remarks>The successor is not yet visible to anyone; the caller swaps the successor in, then marks this map moved (<see cref="MarkMoved_NeedsLock"/>).</remarks>
    /// <remarks>The caller holds the wheel lock too when this map holds timed nodes (see <see cref="CopyTo_NeedsLock"/>).</remarks>
    public InnerMap<TOuter, TInner, TValue> GrowWith_NeedsLock(Node node, TimerWheel<TOuter, TInner, TValue>? wheel)
    {
        AssertLocked();
        var successor = CopyTo_NeedsLock(_buckets.Length * 2, wheel);
        ref var head = ref successor.BucketOf(node.Hash);
        node.Next = head;
        head = node;
        successor._count++;
        return successor;
    }

    /// <summary>Builds a smaller successor when the map has drained below an eighth of its buckets; else <see langword="null"/>.</summary>
    /// <remarks>
    /// Gives memory back when an inner map that grew large has mostly drained, so that one busy moment does not pin a
    /// big bucket array for the life of the outer key. The factor of 8 between growth (at 100%) and shrinking (below
    /// 12.5%) keeps a map that hovers around one size from resizing back and forth.
    /// </remarks>
    public InnerMap<TOuter, TInner, TValue>? ShrinkIfSparse_NeedsLock(TimerWheel<TOuter, TInner, TValue>? wheel)
    {
        AssertLocked();
        var length = _buckets.Length;
        if (length <= 16 || _count >= length / 8 || _count == 0)
        {
            return null;
        }

        return CopyTo_NeedsLock(BucketCountFor(_count * 2), wheel);
    }

    /// <summary>
    /// Marks the map replaced by <paramref name="successor"/> (built by <see cref="CopyTo_NeedsLock"/>), which the caller
    /// has just swapped into the outer map, and gives the successor this map's places in the wheels: each timed copy
    /// takes its original's place, and the idle node names the successor as its owner.
    /// </summary>
    /// <remarks>
    /// The caller holds the successor's lock too (other threads can reach it once it is swapped in, and must not
    /// change its chains during this walk), and the wheel lock when the maps hold wheel nodes. Allocates nothing and
    /// cannot fail: the swap before it cannot be undone, and an exception between the two would leave the wheel
    /// holding nodes of a map that is no longer linked (or the successor's entries out of the wheel).
    /// </remarks>
    public void MarkMoved_NeedsLock(InnerMap<TOuter, TInner, TValue> successor)
    {
        AssertLocked();
        Debug.Assert(Monitor.IsEntered(successor), "The successor's lock must be held.");

        // Moved first, then a full fence, then each original's deadline is read again: a lock-free read may have slid
        // an original after CopyTo_NeedsLock copied it (see ConcurrentNestedMap.KeepSlideAcrossResize for the other
        // half of this handshake). Writers that block on this lock see the state only after we release it.
        _state = InnerMapState.Moved;
        Interlocked.MemoryBarrier();
        foreach (var head in successor._buckets)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                // A copy not yet in the wheel names its original in WheelPrev (see CopyTo_NeedsLock); a node that is
                // in no wheel at all (the entry a growing write adds) has neither link.
                if (node is TimedNode { WheelNext: null, WheelPrev: { } original } copy)
                {
                    TakeLaterDeadline(copy, Volatile.Read(ref original.Deadline));
                    TimerWheel<TOuter, TInner, TValue>.Substitute(original, copy);

                    // The original is in no wheel list now: its free slot links it to its copy, for a read that slid
                    // the original and carries its deadline (ConcurrentNestedMap.KeepSlideAcrossResize reads it under
                    // this map's lock, once this walk is over). WheelNext stays null: the original is not scheduled.
                    original.WheelPrev = copy;
                }
            }
        }

        if (successor.IdleNode is { } idle)
        {
            idle.Owner = successor;
        }
    }

    /// <summary>Moves <paramref name="copy"/>'s deadline to <paramref name="deadline"/> if that is later; lock-free reads may slide the copy meanwhile.</summary>
    private static void TakeLaterDeadline(TimedNode copy, long deadline)
    {
        // The copy is linked already, so a reader may be sliding it right now: compare-and-swap, so neither store is
        // lost to the other (a plain store here could put back an earlier deadline over the reader's). The wheel keeps
        // the copy where the original was, at or before its deadline; the sweeper refiles a node it meets early.
        var current = Volatile.Read(ref copy.Deadline);
        while (current < deadline)
        {
            var seen = Interlocked.CompareExchange(ref copy.Deadline, deadline, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Marks the map retired (its entries are gone) and returns how many entries it held.</summary>
    /// <remarks>
    /// The caller unlinks the map from the outer map while it holds the lock, and calls this right after, with nothing
    /// that can fail in between. Readers already walking its chains overlap the retirement, so either answer they give
    /// is right. The table is left as it was, so the caller can still walk it to report the entries.
    /// </remarks>
    public int Retire_NeedsLock()
    {
        AssertLocked();
        var removed = _count;
        _state = InnerMapState.Retired;
        _count = 0;
        return removed;
    }

    /// <summary>
    /// Replaces the value of <paramref name="expected"/> when it is still the key's node and its version is still
    /// <paramref name="version"/>, that is, when nothing wrote the entry since the caller read it.
    /// </summary>
    public bool IsUnchanged_NeedsLock(Node expected, int version, IEqualityComparer<TInner>? comparer)
    {
        AssertLocked();

        // A node replacement makes Find return a different node, a removal makes it return null, and an in-place
        // write bumps the version: each of those means the caller computed from a stale value and retries. (A resize
        // moves the entries to a successor map, which the caller detects through the state before calling this.)
        return ReferenceEquals(Find(expected.Key, expected.Hash, comparer), expected) && expected.Version == version;
    }

    /// <summary>Writes a new value into an entry found under this same lock.</summary>
    /// <returns>
    /// The node that now holds the entry: <paramref name="node"/> itself, or its replacement when values are not
    /// written atomically. A replaced timed node is not in the wheel yet: the caller swaps it in under the wheel lock.
    /// </returns>
    public Node Update_NeedsLock(Node node, TValue value)
    {
        AssertLocked();
        if (ValueWriteIsAtomic)
        {
            // Value first, version second: a lock-free reader that reads the new version (acquire) then reads the new
            // value, so TryReplaceIfUnchanged never accepts a computation made from the value this write replaced.
            node.Value = value;
            Volatile.Write(ref node.Version, node.Version + 1);
            return node;
        }

        // A torn write could be observed by a lock-free reader: publish a new node in place of the old one instead.
        var replacement = node is TimedNode timed
            ? new TimedNode(node.Key, node.Hash, value, node.Version + 1, timed.Deadline, this)
            : new Node(node.Key, node.Hash, value, node.Version + 1);
        Replace_NeedsLock(node, replacement);
        return replacement;
    }

    /// <summary>Publishes <paramref name="replacement"/> (same key) in the chain position of <paramref name="node"/>.</summary>
    public void Replace_NeedsLock(Node node, Node replacement)
    {
        AssertLocked();
        ref var slot = ref FindSlotOf_NeedsLock(node);
        Debug.Assert(!Unsafe.IsNullRef(ref slot), "The node to replace is in the table.");
        replacement.Next = node.Next;
        Volatile.Write(ref slot, replacement);
    }

    /// <summary>Removes the key's entry and returns its node; <see langword="null"/> when absent.</summary>
    public Node? Remove_NeedsLock(TInner key, int hash, IEqualityComparer<TInner>? comparer)
    {
        AssertLocked();
        ref var slot = ref BucketOf(hash);
        while (slot is not null)
        {
            var node = slot;
            if (node.Hash == hash && (typeof(TInner).IsValueType && comparer is null
                ? EqualityComparer<TInner>.Default.Equals(node.Key, key)
                : comparer!.Equals(node.Key, key)))
            {
                // Rule (2): the removed node keeps its Next, so a reader standing on it walks on.
                Volatile.Write(ref slot, node.Next);
                _count--;
                return node;
            }

            slot = ref node.Next;
        }

        return null;
    }

    /// <summary>Copies the entries into a new dictionary (under the lock, so the copy is one instant's contents).</summary>
    public Dictionary<TInner, TValue> Snapshot_NeedsLock(IEqualityComparer<TInner>? comparer, long now)
    {
        AssertLocked();
        var copy = new Dictionary<TInner, TValue>(_count, comparer);
        foreach (var head in _buckets)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                if (!node.IsExpiredAt(now))
                {
                    copy.Add(node.Key, node.Value);
                }
            }
        }

        return copy;
    }

    /// <summary>Walks the table and returns the entries found and the nodes in a bucket their hash does not select.</summary>
    internal (int Entries, int Misplaced) CountEntries_NeedsLock()
    {
        AssertLocked();
        int entries = 0, misplaced = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            for (var node = _buckets[i]; node is not null; node = node.Next)
            {
                entries++;
                if (!Unsafe.AreSame(ref BucketOf(node.Hash), ref _buckets[i]))
                {
                    misplaced++;
                }
            }
        }

        return (entries, misplaced);
    }

    private static int BucketCountFor(int capacity) =>
        capacity <= MinimumBuckets ? MinimumBuckets : (int)BitOperations.RoundUpToPowerOf2((uint)capacity);

    private static bool IsValueWriteAtomic()
    {
        if (!typeof(TValue).IsValueType || typeof(TValue) == typeof(nint) || typeof(TValue) == typeof(nuint))
        {
            return true;
        }

        return Type.GetTypeCode(typeof(TValue)) switch
        {
            TypeCode.Boolean or TypeCode.Byte or TypeCode.SByte or TypeCode.Char or TypeCode.Int16 or TypeCode.UInt16
                or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Single => true,
            TypeCode.Int64 or TypeCode.UInt64 or TypeCode.Double => IntPtr.Size == 8,
            _ => false,
        };
    }

    /// <summary>Returns the bucket that <paramref name="hash"/> selects, by Fibonacci hashing (keys whose hashes differ only in high bits still spread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Node? BucketOf(int hash)
    {
        // In range by construction: _shift = 32 - log2(_buckets.Length), so the index has log2(length) bits. Both
        // fields are read-only, so they always describe the same array; skipping the bounds check skips a read of the
        // array's length, a dependent cache miss on large maps.
        var index = ((uint)hash * 0x9E3779B9u) >> _shift;
        return ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_buckets), (nint)index);
    }

    [Conditional("DEBUG")]
    private void AssertLocked() => Debug.Assert(Monitor.IsEntered(this), "The inner map's lock must be held.");

    private InnerMap<TOuter, TInner, TValue> CopyTo_NeedsLock(int bucketCount, TimerWheel<TOuter, TInner, TValue>? wheel)
    {
        // Copy the nodes: rewiring them into the successor would change the Next of nodes that readers of this map
        // may stand on, sending them into another chain where they could miss a present key. A timed node's copy
        // later takes its place in the wheel (same deadline, same position), so the wheel only ever holds nodes of
        // live maps; the caller holds the wheel lock for that, which is why wheel is passed in.
        //
        // This pass only allocates and touches nothing shared: the successor is not visible to anyone yet, so an
        // exception here (out of memory) leaves this map and the wheel exactly as they were. The wheel changes in
        // MarkMoved_NeedsLock, after the swap, in a pass that allocates nothing. Until then each timed copy keeps its
        // original in its own WheelPrev (a copy is in no wheel list, so the link is free), which spares an array of
        // pairs; its WheelNext stays null, as Substitute expects.
        var successor = new InnerMap<TOuter, TInner, TValue>(Outer, OuterHash, bucketCount);
        foreach (var head in _buckets)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                Node copy;
                if (node is TimedNode timed)
                {
                    Debug.Assert(wheel is not null, "A map with timed nodes is resized under the wheel lock.");
                    copy = new TimedNode(node.Key, node.Hash, node.Value, node.Version, timed.Deadline, successor) { WheelPrev = timed };
                }
                else
                {
                    copy = new Node(node.Key, node.Hash, node.Value, node.Version);
                }

                ref var target = ref successor.BucketOf(node.Hash);
                copy.Next = target;
                target = copy;
            }
        }

        // The idle node itself moves (MarkMoved_NeedsLock sets its owner); it stays known to this map too, so a
        // reader still holding this map slides the same node.
        successor.IdleNode = IdleNode;
        successor._count = _count;
        return successor;
    }

    private ref Node? FindSlotOf_NeedsLock(Node target)
    {
        ref var slot = ref BucketOf(target.Hash);
        while (slot is not null)
        {
            if (ReferenceEquals(slot, target))
            {
                return ref slot;
            }

            slot = ref slot.Next;
        }

        return ref Unsafe.NullRef<Node?>();
    }

    /// <summary>One entry. Key and hash never change; value and version change only under the owner's lock.</summary>
    /// <remarks>An entry with a deadline, or in a map with bounds, is a <see cref="TimedNode"/>; a plain node costs nothing for expiry.</remarks>
    internal class Node
    {
        public readonly TInner Key;
        public readonly int Hash;
        public TValue Value;
        public Node? Next;

        /// <summary>Bumped by every write of <see cref="Value"/>; lets an optimistic update detect a concurrent write without comparing values.</summary>
        /// <remarks>A 32-bit version wraps after 2^32 writes to one entry during one optimistic update: not a practical ABA.</remarks>
        public int Version;

        public Node(TInner key, int hash, TValue value, int version)
        {
            Key = key;
            Hash = hash;
            Value = value;
            Version = version;
        }

        /// <summary>Gets whether this entry's deadline has passed at <paramref name="now"/> (never, for a plain node).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool IsExpiredAt(long now) => this is TimedNode timed && timed.IsExpiredAt(now);
    }

    /// <summary>
    /// An entry with a deadline, linked into the map's <see cref="TimerWheel{TOuter, TInner, TValue}"/>; also the node
    /// that stands for a whole inner map in the outer-key wheel (<see cref="IdleNode"/>).
    /// </summary>
    /// <remarks>
    /// The wheel links and the deadline live in the entry itself, so scheduling allocates nothing. The links are read
    /// and written under the wheel lock, with one exception: once a resize has moved the node's map, the node is in no
    /// wheel list, and <see cref="WheelPrev"/> links it to its copy in the successor (null when the node had left the
    /// map before the copy); that link is set by the resize and read under the moved map's lock, and nothing else
    /// touches a moved map's nodes. (An original is never in a live chain, so MarkMoved_NeedsLock, which takes a node
    /// with a null WheelNext and a WheelPrev for a copy not yet in the wheel, never meets one.) <see cref="Deadline"/>
    /// is written under the owner's lock by writes, and without a lock, by compare-and-swap, by reads that slide it
    /// later (64-bit values are atomic on the 64-bit platforms .NET 10 supports); a node whose deadline moved later
    /// than its wheel bucket is refiled when the sweeper meets it.
    /// </remarks>
    internal sealed class TimedNode : Node
    {
        /// <summary>Deadlines at or above this value mean "no deadline"; the part above it orders such entries by write time.</summary>
        public const long NoDeadline = long.MaxValue / 2;

        public long Deadline;
        public TimedNode? WheelPrev;
        public TimedNode? WheelNext;

        /// <summary>The inner map holding this node; changes only when a resize copies the map (under both locks).</summary>
        public InnerMap<TOuter, TInner, TValue> Owner;

        public TimedNode(TInner key, int hash, TValue value, int version, long deadline, InnerMap<TOuter, TInner, TValue> owner)
            : base(key, hash, value, version)
        {
            Deadline = deadline;
            Owner = owner;
        }

        /// <summary>Gets whether the deadline has passed at <paramref name="now"/>: an entry is gone from its deadline on.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public new bool IsExpiredAt(long now)
        {
            var deadline = Volatile.Read(ref Deadline);
            return deadline < NoDeadline && deadline <= now;
        }
    }
}
