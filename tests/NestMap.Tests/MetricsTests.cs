using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;

namespace NestMap.Tests;

/// <summary>The <c>NestMap</c> meter, read through a <see cref="MeterListener"/> as any exporter would.</summary>
public sealed class MetricsTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1 << 24);

    [Fact]
    public void Instruments_ReportEntriesPendingExpiryOuterKeysZombiesAndRemovalsByReason()
    {
        var time = new FakeTimeProvider();
        var name = $"metrics-{Guid.NewGuid():N}";
        using var map = new ConcurrentNestedMap<int, int, int>(new() { Name = name, TimeProvider = time, ExpireAfterWrite = TimeSpan.FromSeconds(10) });
        using var listener = new Listener(name);
        for (var i = 0; i < 10; i++)
        {
            map.Set(i % 2, i, i);
        }

        Assert.True(map.TryRemove(0, 0, out _));
        map.Set(1, 1, 100);

        var first = listener.Collect();
        Assert.Equal(9, first["nestmap.entries"]);
        Assert.Equal(9, first["nestmap.entries.live"]);
        Assert.Equal(0, first["nestmap.entries.expired_pending"]);
        Assert.Equal(2, first["nestmap.outer_keys"]);
        Assert.Equal(0, first["nestmap.inner_maps.empty"]);
        Assert.Equal(1, first["nestmap.removals/removed"]);
        Assert.Equal(1, first["nestmap.removals/replaced"]);
        Assert.Equal(0, first["nestmap.removals/expired"]);

        // At the deadline the entries are expired but not yet swept (the timer fires at the end of the tick).
        time.Advance(TimeSpan.FromSeconds(10));
        var due = listener.Collect();
        Assert.Equal(9, due["nestmap.entries"]);
        Assert.Equal(9, due["nestmap.entries.expired_pending"]);
        Assert.Equal(0, due["nestmap.entries.live"]);

        time.Advance(Tick);
        var swept = listener.Collect();
        Assert.Equal(0, swept["nestmap.entries"]);
        Assert.Equal(0, swept["nestmap.entries.expired_pending"]);
        Assert.Equal(0, swept["nestmap.outer_keys"]);
        Assert.Equal(0, swept["nestmap.inner_maps.empty"]);
        Assert.Equal(9, swept["nestmap.removals/expired"]);
        Assert.Equal(0, swept["nestmap.expiry.backlog"]);
        Assert.True(listener.SliceDurations > 0, "The timer's slice was recorded in the duration histogram.");
    }

    [Fact]
    public void RemoveOuterAndClear_AreCountedByReason_AndADisposedMapIsNoLongerObserved()
    {
        var name = $"metrics-{Guid.NewGuid():N}";
        var map = new ConcurrentNestedMap<int, int, int>(new() { Name = name });
        using var listener = new Listener(name);
        for (var i = 0; i < 6; i++)
        {
            map.Set(i % 3, i, i);
        }

        Assert.Equal(2, map.RemoveOuter(0));
        map.Clear();
        var figures = listener.Collect();
        Assert.Equal(2, figures["nestmap.removals/outer_removed"]);
        Assert.Equal(4, figures["nestmap.removals/cleared"]);
        Assert.Equal(0, figures["nestmap.entries"]);

        map.Dispose();
        Assert.False(listener.Collect().ContainsKey("nestmap.entries"));
    }

    /// <summary>Listens to the NestMap meter and keeps the latest long measurement of each instrument for one map.</summary>
    private sealed class Listener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _name;
        private readonly Dictionary<string, long> _latest = [];
        private int _sliceDurations;

        public Listener(string name)
        {
            _name = name;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "NestMap")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                string? map = null, reason = null;
                foreach (var tag in tags)
                {
                    map = tag.Key == "nestmap.map.name" ? tag.Value as string : map;
                    reason = tag.Key == "nestmap.removal.reason" ? tag.Value as string : reason;
                }

                if (map == _name)
                {
                    lock (_latest)
                    {
                        _latest[reason is null ? instrument.Name : $"{instrument.Name}/{reason}"] = value;
                    }
                }
            });
            _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (instrument.Name == "nestmap.maintenance.slice.duration" && tag.Key == "nestmap.map.name" && (string?)tag.Value == _name)
                    {
                        Interlocked.Increment(ref _sliceDurations);
                    }
                }
            });
            _listener.Start();
        }

        public int SliceDurations => Volatile.Read(ref _sliceDurations);

        public Dictionary<string, long> Collect()
        {
            lock (_latest)
            {
                _latest.Clear();
            }

            _listener.RecordObservableInstruments();
            lock (_latest)
            {
                return new Dictionary<string, long>(_latest);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
