using System.Collections;

namespace NestMap;

/// <content>Enumeration of entries and of outer keys.</content>
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue> : IEnumerable<NestedEntry<TOuter, TInner, TValue>>
{
    /// <summary>Gets the outer keys that hold entries.</summary>
    /// <value>
    /// A weakly consistent sequence, like <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}"/>'s
    /// enumeration: it never throws; it yields each outer key at most once; an outer key present throughout is yielded,
    /// and one added or removed while it runs may or may not appear. It copies nothing up front and takes no lock, but
    /// when the outer table is resized under it: it then walks one bucket again under that bucket's stripe lock,
    /// holding back writers of new or emptied outer keys in that stripe for that moment.
    /// </value>
    public IEnumerable<TOuter> OuterKeys
    {
        get
        {
            var now = _idleTtl != 0 ? _time.GetTimestamp() : 0; // 0: a placeholder, no outer key can expire
            foreach (var map in _outer.Maps())
            {
                // Skips a map a writer has just linked and not yet filled, one being retired, and an outer key past
                // its idle deadline (gone for reads, swept or not).
                if (map.Count > 0 && !IsOuterExpiredAt(map, now))
                {
                    yield return map.Outer;
                }
            }
        }
    }

    /// <summary>Returns an enumerator over all entries.</summary>
    /// <returns>An enumerator of <see cref="NestedEntry{TOuter, TInner, TValue}"/>.</returns>
    /// <remarks>
    /// Weakly consistent, like <see cref="System.Collections.Concurrent.ConcurrentDictionary{TKey, TValue}"/>'s
    /// enumeration: safe while other threads write and never throws because of them (it blocks them only as
    /// <see cref="OuterKeys"/> does, when the outer table is resized under it); no entry is
    /// yielded twice; an entry added, changed or removed during the enumeration may or may not be seen; an entry whose deadline passed
    /// before the enumeration began is not seen, nor an entry of an outer key whose idle deadline passed by then. It is not a
    /// snapshot; use <see cref="SnapshotOf"/> for an atomic copy of one outer key.
    /// </remarks>
    public IEnumerator<NestedEntry<TOuter, TInner, TValue>> GetEnumerator()
    {
        var now = _time.GetTimestamp();
        foreach (var map in _outer.Maps())
        {
            if (IsOuterExpiredAt(map, now))
            {
                continue; // past its idle deadline: gone with all its entries
            }

            // Lock-free walk over the bucket array loaded once: see InnerMap's remarks for why every chain walked
            // this way is a consistent past state of that chain, with no node seen twice.
            var buckets = map.Buckets;
            for (var i = 0; i < buckets.Length; i++)
            {
                for (var node = Volatile.Read(ref buckets[i]); node is not null; node = node.Next)
                {
                    if (node.IsExpiredAt(now))
                    {
                        continue;
                    }

                    yield return new NestedEntry<TOuter, TInner, TValue>(map.Outer, node.Key, node.Value);
                }
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
