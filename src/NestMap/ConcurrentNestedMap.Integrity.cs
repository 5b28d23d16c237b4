namespace NestMap;

/// <content>The structural integrity check used by the tests (soak, model-based and systematic).</content>
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue>
{
    /// <summary>
    /// Checks, at quiescence, that the structure agrees with itself: no linked inner map is empty or retired, each
    /// inner map's count equals the entries in its table and every node sits in the bucket its hash selects, and
    /// <see cref="Count"/> and <see cref="OuterCount"/> equal the sums of the parts.
    /// </summary>
    /// <returns>The problems found, one line each; empty when the structure is sound.</returns>
    /// <remarks>Call it only when no other thread is writing: counts read while writers run may disagree legitimately.</remarks>
    internal IReadOnlyList<string> CheckIntegrity()
    {
        var problems = new List<string>();
        long entries = 0;
        var maps = 0;
        foreach (var pair in _outer)
        {
            var map = pair.Value;
            maps++;
            lock (map)
            {
                var (found, misplaced) = map.CountEntries_NeedsLock();
                entries += found;
                if (!map.IsLive)
                {
                    problems.Add($"Outer key {pair.Key} maps to an inner map in state {map.State}.");
                }

                if (found == 0)
                {
                    problems.Add($"Outer key {pair.Key} maps to an empty inner map (a zombie).");
                }

                if (found != map.Count)
                {
                    problems.Add($"Outer key {pair.Key}: count {map.Count}, but {found} entries in the table.");
                }

                if (misplaced != 0)
                {
                    problems.Add($"Outer key {pair.Key}: {misplaced} nodes in a bucket their hash does not select.");
                }
            }
        }

        if (entries != _count.Sum())
        {
            problems.Add($"Count is {_count.Sum()}, but the inner maps hold {entries} entries.");
        }

        if (maps != _outerCount.Sum())
        {
            problems.Add($"OuterCount is {_outerCount.Sum()}, but {maps} inner maps are linked.");
        }

        return problems;
    }
}
