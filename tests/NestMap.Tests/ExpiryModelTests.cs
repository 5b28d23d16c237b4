using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace NestMap.Tests;

/// <summary>
/// Model-based test of expiry and bounds: random sequences of writes, reads, removals, clock advances and maintenance
/// slices run against the map (default TTL, per-call TTLs, an exact per-outer bound that refuses) and against a
/// sequential model that knows each entry's deadline. Every result must agree, the live contents must agree at the
/// end, the structure (tables, wheel, counts) must pass the integrity check, and once everything has expired the
/// sweeps must leave nothing behind. CsCheck shrinks a failing sequence to a shortest one.
/// </summary>
public sealed class ExpiryModelTests
{
    private const int PerOuterBound = 3;
    private static readonly TimeSpan DefaultTtl = TimeSpan.FromSeconds(4);

    private static readonly Gen<Op> GenOp =
        Gen.Select(Gen.Int[0, 11], Gen.Int[0, 2], Gen.Int[0, 4], Gen.Int[1, 9], (kind, outer, inner, value) => new Op(kind, outer, inner, value));

    [Fact]
    public void RandomSequences_WithTimeAndBounds_AgreeWithSequentialModel()
    {
        GenOp.Array[0, 60].Sample(ops =>
        {
            var time = new FakeTimeProvider();
            using var map = new ConcurrentNestedMap<int, int, int>(new()
            {
                TimeProvider = time,
                ExpireAfterWrite = DefaultTtl,
                MaxEntriesPerOuter = PerOuterBound,
            });
            var model = new Model(time);
            foreach (var op in ops)
            {
                Apply(op, map, model, time);
            }

            Assert.Equal(model.Live().Order(), map.Select(e => (e.Outer, e.Inner, e.Value)).Order());
            Assert.Empty(map.CheckIntegrity());

            // Everything expires; the timer and the slices must then leave no entry, no outer key, no wheel node.
            time.Advance(TimeSpan.FromSeconds(10));
            while (map.RunMaintenanceSlice(waitForRunning: true) > 0)
            {
            }

            Assert.Equal(0, map.Count);
            Assert.Equal(0, map.OuterCount);
            Assert.Empty(map.CheckIntegrity());
        }, iter: 2_000);
    }

    private static void Apply(Op op, ConcurrentNestedMap<int, int, int> map, Model model, FakeTimeProvider time)
    {
        var (o, i, v) = (op.Outer, op.Inner, op.Value);
        var ttl = TimeSpan.FromMilliseconds(500 * v);
        var live = model.TryGetLive(o, i, out var current);
        var full = !live && model.LiveCountOf(o) >= PerOuterBound;
        switch (op.Kind)
        {
            case 0:
                if (full)
                {
                    Assert.Throws<NestedMapCapacityException>(() => map.Set(o, i, v));
                }
                else
                {
                    map.Set(o, i, v);
                    model.Put(o, i, v, DefaultTtl);
                }

                break;
            case 1:
                if (full)
                {
                    Assert.Throws<NestedMapCapacityException>(() => map.Set(o, i, v, ttl));
                }
                else
                {
                    map.Set(o, i, v, ttl);
                    model.Put(o, i, v, ttl);
                }

                break;
            case 2:
            case 3:
                var added = op.Kind == 2 ? map.TryAdd(o, i, v) : map.TryAdd(o, i, v, ttl);
                Assert.Equal(!live && !full, added);
                if (added)
                {
                    model.Put(o, i, v, op.Kind == 2 ? DefaultTtl : ttl);
                }

                break;
            case 4:
                Assert.Equal(live, map.TryRemove(o, i, out var removed));
                Assert.Equal(live ? current : 0, removed);
                model.Remove(o, i);
                break;
            case 5:
                Assert.Equal(live, map.TryGetValue(o, i, out var read));
                Assert.Equal(live ? current : 0, read);
                break;
            case 6:
                if (full)
                {
                    Assert.Throws<NestedMapCapacityException>(() => map.GetOrAdd(o, i, v));
                }
                else
                {
                    Assert.Equal(live ? current : v, map.GetOrAdd(o, i, v));
                    if (!live)
                    {
                        model.Put(o, i, v, DefaultTtl);
                    }
                }

                break;
            case 7:
                if (full)
                {
                    Assert.Throws<NestedMapCapacityException>(() => map.AddOrUpdate(o, i, v, (_, _, c) => c + v));
                }
                else
                {
                    var expected = live ? current + v : v;
                    Assert.Equal(expected, map.AddOrUpdate(o, i, v, (_, _, c) => c + v));
                    model.Put(o, i, expected, DefaultTtl);
                }

                break;
            case 8:
                var comparison = live && v % 2 == 0 ? current : -v;
                var updated = map.TryUpdate(o, i, v, comparison);
                Assert.Equal(live && comparison == current, updated);
                if (updated)
                {
                    model.Put(o, i, v, DefaultTtl);
                }

                break;
            case 9:
                Assert.Equal(model.LiveCountOf(o), map.RemoveOuter(o));
                model.RemoveOuter(o);
                break;
            case 10:
                time.Advance(TimeSpan.FromMilliseconds(250 * v));
                break;
            default:
                map.RunMaintenanceSlice();
                break;
        }
    }

    /// <summary>The sequential model: each entry with its value and deadline; an entry is live until its deadline.</summary>
    private sealed class Model(FakeTimeProvider time)
    {
        private readonly Dictionary<(int Outer, int Inner), (int Value, DateTimeOffset Deadline)> _entries = [];

        public bool TryGetLive(int outer, int inner, out int value)
        {
            if (_entries.TryGetValue((outer, inner), out var entry) && entry.Deadline > time.GetUtcNow())
            {
                value = entry.Value;
                return true;
            }

            value = 0;
            return false;
        }

        public int LiveCountOf(int outer) => _entries.Count(e => e.Key.Outer == outer && e.Value.Deadline > time.GetUtcNow());

        public void Put(int outer, int inner, int value, TimeSpan ttl) => _entries[(outer, inner)] = (value, time.GetUtcNow() + ttl);

        public void Remove(int outer, int inner) => _entries.Remove((outer, inner));

        public void RemoveOuter(int outer)
        {
            foreach (var key in _entries.Keys.Where(k => k.Outer == outer).ToList())
            {
                _entries.Remove(key);
            }
        }

        public IEnumerable<(int, int, int)> Live() =>
            _entries.Where(e => e.Value.Deadline > time.GetUtcNow()).Select(e => (e.Key.Outer, e.Key.Inner, e.Value.Value));
    }

    private sealed record Op(int Kind, int Outer, int Inner, int Value);
}
