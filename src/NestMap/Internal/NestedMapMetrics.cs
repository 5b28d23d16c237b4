using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace NestMap.Internal;

/// <summary>What the metrics read from one map when someone observes them.</summary>
internal interface IMetricsSource
{
    /// <summary>Gets the map's name, the <c>nestmap.map.name</c> tag of its measurements.</summary>
    string Name { get; }

    /// <summary>Takes the figures the observable instruments report; called only while a listener observes.</summary>
    MetricsSnapshot Observe();
}

/// <summary>One observation of one map.</summary>
internal readonly record struct MetricsSnapshot(
    long Entries,
    long ExpiredPending,
    long OuterKeys,
    long EmptyInnerMaps,
    long ExpiryBacklog,
    long[] RemovalsByReason);

/// <summary>
/// The <c>NestMap</c> meter: one set of instruments for all maps, each measurement tagged with its map's name.
/// </summary>
/// <remarks>
/// Every gauge and counter is observable: nothing is computed until a listener (dotnet-counters, an OpenTelemetry
/// exporter, a <see cref="MeterListener"/>) collects, and then each live map is asked for a snapshot. Maps register
/// here weakly when they are made and leave when they are disposed or collected, so the registry never keeps a map
/// alive. The only per-operation cost is the removal counters, which are striped, and the slice histogram, recorded
/// only while enabled. Thread-safe.
/// </remarks>
internal static class NestedMapMetrics
{
    /// <summary>The meter's name, as given to <c>dotnet-counters --counters</c> or <c>AddMeter</c>.</summary>
    public const string MeterName = "NestMap";

    /// <summary>The tag naming the map a measurement comes from.</summary>
    public const string MapNameTag = "nestmap.map.name";

    private static readonly ConcurrentDictionary<long, WeakReference<IMetricsSource>> Sources = new();
    private static long s_nextId;

    private static readonly Meter Meter = new(MeterName, typeof(NestedMapMetrics).Assembly.GetName().Version?.ToString());

    /// <summary>Gets the histogram of maintenance slice durations, in seconds.</summary>
    public static Histogram<double> SliceDuration { get; } = Meter.CreateHistogram<double>(
        "nestmap.maintenance.slice.duration", "s", "Duration of one maintenance slice (expiry removal in bounded steps).");

    static NestedMapMetrics()
    {
        Meter.CreateObservableUpDownCounter("nestmap.entries", () => Observe(s => s.Entries), "{entry}", "Entries held, including expired ones not yet removed.");
        Meter.CreateObservableUpDownCounter("nestmap.entries.live", () => Observe(s => Math.Max(0, s.Entries - s.ExpiredPending)), "{entry}", "Entries held whose deadline has not passed.");
        Meter.CreateObservableUpDownCounter("nestmap.entries.expired_pending", () => Observe(s => s.ExpiredPending), "{entry}", "Entries whose deadline has passed and that are not yet removed (never returned by reads).");
        Meter.CreateObservableUpDownCounter("nestmap.outer_keys", () => Observe(s => s.OuterKeys), "{key}", "Outer keys (inner maps) held.");
        Meter.CreateObservableUpDownCounter("nestmap.inner_maps.empty", () => Observe(s => s.EmptyInnerMaps), "{map}", "Inner maps holding no entry (zombies): 0, apart from one a writer has just made and not yet filled.");
        Meter.CreateObservableUpDownCounter("nestmap.expiry.backlog", () => Observe(s => s.ExpiryBacklog), "{entry}", "Entries taken out of due wheel buckets and waiting for the next maintenance slice.");
        Meter.CreateObservableCounter("nestmap.removals", ObserveRemovals, "{entry}", "Entries removed, by reason (removed, replaced, expired, evicted, outer_removed, cleared).");
    }

    /// <summary>Registers a map; returns the handle to pass to <see cref="Unregister"/>.</summary>
    public static long Register(IMetricsSource source)
    {
        var id = Interlocked.Increment(ref s_nextId);
        Sources[id] = new WeakReference<IMetricsSource>(source);
        return id;
    }

    /// <summary>Removes a map from the registry (on dispose; a collected map is pruned when observed).</summary>
    public static void Unregister(long id) => Sources.TryRemove(id, out _);

    /// <summary>Gets the tag value for a reason.</summary>
    public static string ReasonTag(RemovalReason reason) => reason switch
    {
        RemovalReason.Removed => "removed",
        RemovalReason.Replaced => "replaced",
        RemovalReason.Expired => "expired",
        RemovalReason.Evicted => "evicted",
        RemovalReason.OuterRemoved => "outer_removed",
        RemovalReason.Cleared => "cleared",
        _ => reason.ToString(),
    };

    private static IEnumerable<Measurement<long>> Observe(Func<MetricsSnapshot, long> select)
    {
        foreach (var (source, snapshot) in Snapshots())
        {
            yield return new Measurement<long>(select(snapshot), new KeyValuePair<string, object?>(MapNameTag, source.Name));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveRemovals()
    {
        foreach (var (source, snapshot) in Snapshots())
        {
            for (var reason = 0; reason < snapshot.RemovalsByReason.Length; reason++)
            {
                yield return new Measurement<long>(
                    snapshot.RemovalsByReason[reason],
                    new KeyValuePair<string, object?>(MapNameTag, source.Name),
                    new KeyValuePair<string, object?>("nestmap.removal.reason", ReasonTag((RemovalReason)reason)));
            }
        }
    }

    private static List<(IMetricsSource Source, MetricsSnapshot Snapshot)> Snapshots()
    {
        var snapshots = new List<(IMetricsSource, MetricsSnapshot)>();
        foreach (var (id, reference) in Sources)
        {
            if (reference.TryGetTarget(out var source))
            {
                snapshots.Add((source, source.Observe()));
            }
            else
            {
                Sources.TryRemove(id, out _);
            }
        }

        return snapshots;
    }

    /// <summary>Records a slice's duration when a listener is enabled for the histogram.</summary>
    public static void RecordSlice(string name, TimeSpan duration) =>
        SliceDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(MapNameTag, name));

    /// <summary>Gets whether a slice's duration is worth measuring (someone listens).</summary>
    public static bool SliceDurationEnabled => SliceDuration.Enabled;
}
