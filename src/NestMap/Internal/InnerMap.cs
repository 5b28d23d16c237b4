using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace NestMap.Internal;

/// <summary>
/// The inner map of one outer key: a chained hash table whose readers take no lock and whose writers hold the monitor
/// of this object.
/// </summary>
/// <remarks>
/// <para>
/// Why not a <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}"/> per outer key: its lock
/// array and per-lock counts make an empty one cost ~520 B on 2 CPUs and ~1 KB on 16, paid once per outer key. This
/// table costs 32 B plus its bucket array, and one monitor (the object header's thin lock, no allocation) guards all
/// of it: an inner map is small and its writers are spread over many outer keys, so one lock per inner map is the
/// right granularity.
/// </para>
/// <para>
/// Lock-free reads. Readers load <see cref="_buckets"/> once and walk the chains with volatile reads. Writers keep
/// three rules that make that safe: (1) a new node is fully initialised before it is published at the head of its
/// chain; (2) removal unlinks a node by pointing its predecessor past it, and never changes the removed node's own
/// <see cref="Node.Next"/>, so a reader standing on it still reaches the rest of the chain; (3) a resize copies every
/// node into a new array and publishes the array, and never rewires a node a reader may stand on. A reader therefore
/// sees each chain as it was at some instant during its walk. Values are written in place only when
/// <typeparamref name="TValue"/> is written atomically (<see cref="ValueWriteIsAtomic"/>); otherwise an update
/// replaces the node, so a reader never sees a torn value.
/// </para>
/// <para>
/// Retirement. When the last entry goes, the owner marks the map retired (under this lock) and unlinks it from the
/// outer map before releasing the lock. A retired map never takes an entry again: writers that find it retired after
/// taking the lock retry with a fresh lookup. That is what makes "remove the last entry" and "write to the same outer
/// key" linearizable without one global lock.
/// </para>
/// Members whose names end in <c>_NeedsLock</c> require the caller to hold <c>lock (this)</c>.
/// </remarks>
internal sealed class InnerMap<TInner, TValue>
    where TInner : notnull
{
    /// <summary>The smallest bucket array; at least 2 so that the Fibonacci shift below is never 32.</summary>
    internal const int MinimumBuckets = 2;

    /// <summary>Whether a plain store of <typeparamref name="TValue"/> is atomic, so values may be updated in place.</summary>
    internal static readonly bool ValueWriteIsAtomic = IsValueWriteAtomic();

    private static readonly Node?[] s_retiredBuckets = new Node?[MinimumBuckets];

    private volatile Node?[] _buckets;
    private volatile int _count;
    private bool _retired;

    public InnerMap(int capacity)
    {
        _buckets = new Node?[BucketCountFor(capacity)];
    }

    /// <summary>Gets the number of entries (a volatile read; exact under the lock, a recent value without it).</summary>
    public int Count => _count;

    /// <summary>Gets whether the map is retired; read it under the lock to act on it.</summary>
    public bool IsRetired => Volatile.Read(ref _retired);

    /// <summary>Gets the bucket array for a lock-free walk (see <see cref="Node"/> for what a walker may rely on).</summary>
    public Node?[] Buckets => _buckets;

    /// <summary>Finds the node of <paramref name="key"/> without a lock; <see langword="null"/> when absent.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Node? Find(TInner key, int hash, IEqualityComparer<TInner>? comparer)
    {
        var buckets = _buckets;
        var node = Volatile.Read(ref buckets[IndexOf(hash, buckets.Length)]);

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

                node = node.Next;
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

                node = node.Next;
            }
        }

        return null;
    }

    /// <summary>Adds the entry unless the key is present; returns the existing node when it is, else <see langword="null"/>.</summary>
    public Node? TryAdd_NeedsLock(TInner key, int hash, TValue value, IEqualityComparer<TInner>? comparer)
    {
        AssertLocked();
        var existing = Find(key, hash, comparer);
        if (existing is not null)
        {
            return existing;
        }

        AddNew_NeedsLock(key, hash, value);
        return null;
    }

    /// <summary>Adds or overwrites the entry; returns <see langword="true"/> when it was added.</summary>
    public bool Set_NeedsLock(TInner key, int hash, TValue value, IEqualityComparer<TInner>? comparer)
    {
        AssertLocked();
        var existing = Find(key, hash, comparer);
        if (existing is not null)
        {
            Update_NeedsLock(existing, value);
            return false;
        }

        AddNew_NeedsLock(key, hash, value);
        return true;
    }

    /// <summary>
    /// Replaces the value of <paramref name="expected"/> when it is still the key's node and its version is still
    /// <paramref name="version"/>, that is, when nothing wrote the entry since the caller read it.
    /// </summary>
    public bool TryReplaceIfUnchanged_NeedsLock(Node expected, int version, TValue value, IEqualityComparer<TInner>? comparer)
    {
        AssertLocked();

        // A resize or a node replacement makes Find return a different node, a removal makes it return null, and an
        // in-place write bumps the version: each of those means the caller computed from a stale value and retries.
        if (!ReferenceEquals(Find(expected.Key, expected.Hash, comparer), expected) || expected.Version != version)
        {
            return false;
        }

        Update_NeedsLock(expected, value);
        return true;
    }

    /// <summary>Removes the key's entry and returns its node; <see langword="null"/> when absent.</summary>
    public Node? Remove_NeedsLock(TInner key, int hash, IEqualityComparer<TInner>? comparer)
    {
        AssertLocked();
        ref var slot = ref FindSlot_NeedsLock(key, hash, comparer);
        if (Unsafe.IsNullRef(ref slot))
        {
            return null;
        }

        var node = slot!;

        // Rule (2) of the class remarks: the removed node keeps its Next, so a reader standing on it walks on.
        Volatile.Write(ref slot, node.Next);
        _count--;
        ShrinkIfSparse_NeedsLock();
        return node;
    }

    /// <summary>Marks the map retired and drops its entries; returns how many entries it held.</summary>
    /// <remarks>
    /// The caller unlinks the map from the outer map while it still holds the lock. Readers that loaded the old
    /// bucket array finish their walk over the old chains: they overlap the retirement, so either answer is right.
    /// </remarks>
    public int Retire_NeedsLock()
    {
        AssertLocked();
        var removed = _count;
        Volatile.Write(ref _retired, true);
        _buckets = s_retiredBuckets;
        _count = 0;
        return removed;
    }

    /// <summary>Copies the entries into a new dictionary (under the lock, so the copy is one instant's contents).</summary>
    public Dictionary<TInner, TValue> Snapshot_NeedsLock(IEqualityComparer<TInner>? comparer)
    {
        AssertLocked();
        var copy = new Dictionary<TInner, TValue>(_count, comparer);
        foreach (var head in _buckets)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                copy.Add(node.Key, node.Value);
            }
        }

        return copy;
    }

    /// <summary>Walks the table and returns the entries found and the nodes in a bucket their hash does not select.</summary>
    internal (int Entries, int Misplaced) CountEntries_NeedsLock()
    {
        AssertLocked();
        var buckets = _buckets;
        int entries = 0, misplaced = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            for (var node = buckets[i]; node is not null; node = node.Next)
            {
                entries++;
                if (IndexOf(node.Hash, buckets.Length) != i)
                {
                    misplaced++;
                }
            }
        }

        return (entries, misplaced);
    }

    /// <summary>Maps a hash to a bucket with Fibonacci hashing, so that keys whose hashes differ only in high bits still spread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOf(int hash, int length)
    {
        // length is a power of two >= 2, so the shift is in 1..31.
        var shift = BitOperations.LeadingZeroCount((uint)length) + 1;
        return (int)(((uint)hash * 0x9E3779B9u) >> shift);
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

    [Conditional("DEBUG")]
    private void AssertLocked() => Debug.Assert(Monitor.IsEntered(this), "The inner map's lock must be held.");

    private void AddNew_NeedsLock(TInner key, int hash, TValue value)
    {
        Debug.Assert(!_retired, "A retired inner map never takes an entry; the caller must retry.");
        if (_count >= _buckets.Length)
        {
            Resize_NeedsLock(_buckets.Length * 2);
        }

        var buckets = _buckets;
        ref var head = ref buckets[IndexOf(hash, buckets.Length)];

        // Rule (1): the node is complete before the volatile write publishes it.
        Volatile.Write(ref head, new Node(key, hash, value, head, 0));
        _count++;
    }

    /// <summary>Writes a new value into an entry found under this same lock.</summary>
    public void Update_NeedsLock(Node node, TValue value)
    {
        AssertLocked();
        if (ValueWriteIsAtomic)
        {
            // Value first, version second: a lock-free reader that reads the new version (acquire) then reads the new
            // value, so TryReplaceIfUnchanged never accepts a computation made from the value this write replaced.
            node.Value = value;
            Volatile.Write(ref node.Version, node.Version + 1);
            return;
        }

        // A torn write could be observed by a lock-free reader: publish a new node in place of the old one instead.
        ref var slot = ref FindSlotOf_NeedsLock(node);
        Debug.Assert(!Unsafe.IsNullRef(ref slot), "The node to replace is in the table.");
        Volatile.Write(ref slot, new Node(node.Key, node.Hash, value, node.Next, node.Version + 1));
    }

    /// <summary>Returns a reference to the field that points at the key's node (a bucket or a predecessor's Next), or a null reference.</summary>
    private ref Node? FindSlot_NeedsLock(TInner key, int hash, IEqualityComparer<TInner>? comparer)
    {
        var buckets = _buckets;
        ref var slot = ref buckets[IndexOf(hash, buckets.Length)];
        while (slot is not null)
        {
            var node = slot;
            if (node.Hash == hash && (typeof(TInner).IsValueType && comparer is null
                ? EqualityComparer<TInner>.Default.Equals(node.Key, key)
                : comparer!.Equals(node.Key, key)))
            {
                return ref slot;
            }

            slot = ref node.Next;
        }

        return ref Unsafe.NullRef<Node?>();
    }

    private ref Node? FindSlotOf_NeedsLock(Node target)
    {
        var buckets = _buckets;
        ref var slot = ref buckets[IndexOf(target.Hash, buckets.Length)];
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

    private void ShrinkIfSparse_NeedsLock()
    {
        // Give memory back when an inner map that grew large has mostly drained (an eighth full), so that one busy
        // moment does not pin a big bucket array for the life of the outer key. The factor of 8 between growth (at
        // 100%) and shrink (at 12.5%) keeps a map that hovers around one size from resizing back and forth.
        var length = _buckets.Length;
        if (length > 16 && _count < length / 8)
        {
            Resize_NeedsLock(Math.Max(MinimumBuckets, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, _count * 2))));
        }
    }

    private void Resize_NeedsLock(int newLength)
    {
        // Rule (3): copy the nodes. Rewiring them in place could send a lock-free reader standing on a node into
        // another chain, where it would miss a key that is present.
        var old = _buckets;
        var buckets = new Node?[newLength];
        foreach (var head in old)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                ref var target = ref buckets[IndexOf(node.Hash, newLength)];
                target = new Node(node.Key, node.Hash, node.Value, target, node.Version);
            }
        }

        _buckets = buckets;
    }

    /// <summary>One entry. Key and hash never change; value and version change only under the owner's lock.</summary>
    internal sealed class Node
    {
        public readonly TInner Key;
        public readonly int Hash;
        public TValue Value;
        public Node? Next;

        /// <summary>Bumped by every write of <see cref="Value"/>; lets an optimistic update detect a concurrent write without comparing values.</summary>
        /// <remarks>A 32-bit version wraps after 2^32 writes to one entry during one optimistic update: not a practical ABA.</remarks>
        public int Version;

        public Node(TInner key, int hash, TValue value, Node? next, int version)
        {
            Key = key;
            Hash = hash;
            Value = value;
            Next = next;
            Version = version;
        }
    }
}
