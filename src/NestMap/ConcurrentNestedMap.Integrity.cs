using NestMap.Internal;

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
    /// <remarks>
    /// Call it only when no other thread is writing: counts read while writers run may disagree legitimately. A
    /// maintenance slice on the thread pool or the timer (queued by earlier writes) is not the caller's to stop, so the
    /// check holds the maintenance flag: it waits for a running slice to end, and a slice that starts meanwhile does
    /// nothing (the timer is re-armed afterwards, as a slice would re-arm it). Never call it from inside a slice (a
    /// removal callback, or a time provider that runs timers inside its clock reads): it would wait for itself.
    /// </remarks>
    internal IReadOnlyList<string> CheckIntegrity()
    {
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref _maintaining, 1, 0) != 0)
        {
            spin.SpinOnce();
        }

        try
        {
            return CheckIntegrity_NeedsMaintenanceFlag();
        }
        finally
        {
            Volatile.Write(ref _maintaining, 0);
            SyncTimer();
        }
    }

    private List<string> CheckIntegrity_NeedsMaintenanceFlag()
    {
        var problems = new List<string>();
        long entries = 0;
        long timedEntries = 0;
        var idleNodes = 0;
        var maps = 0;
        foreach (var map in _outer.Maps())
        {
            maps++;
            lock (map)
            {
                var (found, misplaced) = map.CountEntries_NeedsLock();
                entries += found;
                if (!map.IsLive)
                {
                    problems.Add($"Outer key {map.Outer} maps to an inner map in state {map.State}.");
                }

                if (found == 0)
                {
                    problems.Add($"Outer key {map.Outer} maps to an empty inner map (a zombie).");
                }

                if (found != map.Count)
                {
                    problems.Add($"Outer key {map.Outer}: count {map.Count}, but {found} entries in the table.");
                }

                if (misplaced != 0)
                {
                    problems.Add($"Outer key {map.Outer}: {misplaced} nodes in a bucket their hash does not select.");
                }

                lock (_wheelLock)
                {
                    foreach (var head in map.Buckets)
                    {
                        for (var node = head; node is not null; node = node.Next)
                        {
                            if (node is InnerMap<TOuter, TInner, TValue>.TimedNode timed)
                            {
                                timedEntries++;
                                if (timed.WheelNext is null || !ReferenceEquals(timed.Owner, map))
                                {
                                    problems.Add($"Outer key {map.Outer}: timed entry {node.Key} is not in the wheel, or names another owner.");
                                }
                            }
                            else if (_timesEntries)
                            {
                                problems.Add($"Outer key {map.Outer}: entry {node.Key} has no timed node in a map that times every entry.");
                            }
                        }
                    }

                    if (map.IdleNode is { } idle)
                    {
                        idleNodes++;
                        if (idle.WheelNext is null || !ReferenceEquals(idle.Owner, map))
                        {
                            problems.Add($"Outer key {map.Outer}: its idle node is not in the outer wheel, or names another owner.");
                        }
                    }
                    else if (_outerWheel is not null)
                    {
                        problems.Add($"Outer key {map.Outer} has no idle node in a map that tracks outer keys.");
                    }
                }
            }
        }

        if (entries != _count.Sum())
        {
            problems.Add($"Count is {_count.Sum()}, but the inner maps hold {entries} entries.");
        }

        var (chained, misplacedMaps) = _outer.CountMaps();
        if (chained != maps || chained != OuterCount)
        {
            problems.Add($"OuterCount is {OuterCount}, but the outer table's chains hold {chained} inner maps and its enumeration returned {maps}.");
        }

        if (misplacedMaps != 0)
        {
            problems.Add($"{misplacedMaps} inner maps are in an outer bucket their hash does not select.");
        }

        if (Interlocked.Read(ref _maintenanceFailures) is var failures and not 0)
        {
            problems.Add($"{failures} maintenance slices failed with an exception.");
        }

        lock (_wheelLock)
        {
            CheckWheel(_entryWheel, "entry", timedEntries, problems);
            CheckWheel(_outerWheel, "outer-key", idleNodes, problems);
        }

        return problems;
    }

    private void CheckWheel(TimerWheel<TOuter, TInner, TValue>? wheel, string name, long expected, List<string> problems)
    {
        if (wheel is null)
        {
            if (expected != 0)
            {
                problems.Add($"{expected} nodes want the {name} wheel, which does not exist.");
            }

            return;
        }

        var linked = wheel.CountLinked();
        if (wheel.Count != expected || linked != expected)
        {
            problems.Add($"The {name} wheel counts {wheel.Count} nodes and links {linked}, but the maps hold {expected}.");
        }

        foreach (var node in wheel.InExpiryOrder(refileEarly: false))
        {
            var owner = node.Owner;
            if (!owner.IsLive || _outer.Find(owner.Outer) is not { } linkedMap || !ReferenceEquals(linkedMap, owner))
            {
                problems.Add($"The {name} wheel holds a node of outer key {owner.Outer}, whose map is not the live linked one.");
            }
        }
    }
}
