using NestMap.Internal;

namespace NestMap;

/// <content>The map's side of the <c>NestMap</c> meter (see <see cref="NestedMapMetrics"/>).</content>
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue> : IMetricsSource
{
    /// <summary>The most wheel nodes one observation walks to count due entries and the backlog.</summary>
    private const int ObservationWalkLimit = 100_000;

    private readonly string _name;
    private readonly long _metricsId;

    /// <summary>Entries removed so far, by <see cref="RemovalReason"/> (striped: removals on many threads do not contend).</summary>
    private readonly StripedCounter[] _removals = [new(), new(), new(), new(), new(), new()];

    string IMetricsSource.Name => _name;

    /// <remarks>
    /// Runs only while a listener collects. Costs a walk of the outer table (for empty inner maps) and of at most
    /// <see cref="ObservationWalkLimit"/> due wheel nodes under the wheel lock, so a collection every few seconds stays
    /// cheap even for large maps.
    /// </remarks>
    MetricsSnapshot IMetricsSource.Observe()
    {
        long pending = 0, backlog = 0;
        if (_entryWheel is not null || _outerWheel is not null)
        {
            var now = _time.GetTimestamp(); // before the lock: see RunMaintenanceSlice
            lock (_wheelLock)
            {
                pending = _entryWheel?.CountDue(now, ObservationWalkLimit) ?? 0;
                backlog = (_entryWheel?.CountBacklog(ObservationWalkLimit) ?? 0) + (_outerWheel?.CountBacklog(ObservationWalkLimit) ?? 0);
            }
        }

        long empty = 0;
        foreach (var map in _outer.Maps())
        {
            empty += map.Count == 0 ? 1 : 0;
        }

        var removals = new long[_removals.Length];
        for (var reason = 0; reason < removals.Length; reason++)
        {
            removals[reason] = _removals[reason].Sum();
        }

        return new MetricsSnapshot(Count, pending, OuterCount, empty, backlog, removals);
    }

    private void CountRemovals(RemovalReason reason, long count)
    {
        if (count != 0)
        {
            _removals[(int)reason].Add(count);
        }
    }
}
