using CsCheck;

namespace NestMap.Tests;

/// <summary>
/// Model-based tests: random operation sequences run against the map and against a sequential model (a flat
/// dictionary keyed by the pair), comparing every result and the final contents; CsCheck shrinks a failing sequence
/// to a shortest one. A parallel variant checks that concurrent operations linearize.
/// </summary>
public sealed class ModelTests
{
    private static readonly Gen<Op> GenOp =
        Gen.Select(Gen.Int[0, 11], Gen.Int[0, 3], Gen.Int[0, 5], Gen.Int[0, 9], (kind, outer, inner, value) => new Op(kind, outer, inner, value));

    [Fact]
    public void RandomSequences_AgreeWithSequentialModel()
    {
        GenOp.Array[0, 80].Sample(ops =>
        {
            var map = new ConcurrentNestedMap<int, int, int>();
            var model = new Dictionary<(int Outer, int Inner), int>();
            foreach (var op in ops)
            {
                Apply(op, map, model);
            }

            AssertAgrees(map, model);
        }, iter: 3_000);
    }

    [Fact]
    public void ParallelOperations_Linearize()
    {
        // CsCheck runs a random prefix sequentially, then a few operations in parallel, and requires the final state
        // to equal the state of at least one sequential order of those operations.
        var initial = Gen.Int[0, 4].Select(n =>
        {
            var state = new ConcurrentNestedMap<int, int, int>();
            for (var i = 0; i < n; i++)
            {
                state.Set(i % 2, i, i);
            }

            return state;
        });
        var operation = GenOp.Operation<ConcurrentNestedMap<int, int, int>>(op => op.ToString(), (map, op) => Apply(op, map, model: null));

        Check.SampleParallel(
            initial,
            operation,
            equal: (a, b) => Contents(a).SequenceEqual(Contents(b)) && a.CheckIntegrity().Count == 0 && b.CheckIntegrity().Count == 0,
            print: map => string.Join(", ", Contents(map)),
            iter: 300);
    }

    private static IEnumerable<(int, int, int)> Contents(ConcurrentNestedMap<int, int, int> map) =>
        map.Select(e => (e.Outer, e.Inner, e.Value)).Order();

    /// <summary>Applies one operation to the map and, when given, to the model, asserting that their results agree.</summary>
    private static void Apply(Op op, ConcurrentNestedMap<int, int, int> map, Dictionary<(int Outer, int Inner), int>? model)
    {
        var (o, i, v) = (op.Outer, op.Inner, op.Value);
        var present = false;
        var current = 0;
        if (model is not null)
        {
            present = model.TryGetValue((o, i), out current);
        }

        switch (op.Kind)
        {
            case 0:
                map.Set(o, i, v);
                model?[(o, i)] = v;
                break;
            case 1:
                var added = map.TryAdd(o, i, v);
                if (model is not null)
                {
                    Assert.Equal(model.TryAdd((o, i), v), added);
                }

                break;
            case 2:
                var found = map.TryGetValue(o, i, out var read);
                if (model is not null)
                {
                    Assert.Equal((present, present ? current : 0), (found, read));
                }

                break;
            case 3:
                var got = map.GetOrAdd(o, i, (_, _) => v);
                if (model is not null)
                {
                    Assert.Equal(present ? current : v, got);
                    model.TryAdd((o, i), v);
                }

                break;
            case 4:
                var updated = map.AddOrUpdate(o, i, v, (_, _, old) => old + v);
                if (model is not null)
                {
                    model[(o, i)] = present ? current + v : v;
                    Assert.Equal(model[(o, i)], updated);
                }

                break;
            case 5:
                var swapped = map.TryUpdate(o, i, v, v - 1);
                if (model is not null)
                {
                    Assert.Equal(present && current == v - 1, swapped);
                    if (swapped)
                    {
                        model[(o, i)] = v;
                    }
                }

                break;
            case 6:
            case 7:
                var removed = map.TryRemove(o, i, out var old);
                if (model is not null)
                {
                    Assert.Equal((present, present ? current : 0), (removed, old));
                    model.Remove((o, i));
                }

                break;
            case 8:
                var count = map.RemoveOuter(o);
                if (model is not null)
                {
                    var keys = model.Keys.Where(k => k.Outer == o).ToList();
                    Assert.Equal(keys.Count, count);
                    keys.ForEach(k => model.Remove(k));
                }

                break;
            case 9:
                var snapshot = map.SnapshotOf(o);
                if (model is not null)
                {
                    Assert.Equal(model.Where(p => p.Key.Outer == o).ToDictionary(p => p.Key.Inner, p => p.Value), snapshot);
                }

                break;
            case 10:
                var (contains, countOf) = (map.ContainsOuter(o), map.CountOf(o));
                if (model is not null)
                {
                    var expected = model.Keys.Count(k => k.Outer == o);
                    Assert.Equal((expected > 0, expected), (contains, countOf));
                }

                break;
            default:
                if (o == 0 && i == 0)
                {
                    map.Clear();
                    model?.Clear();
                }

                break;
        }
    }

    private static void AssertAgrees(ConcurrentNestedMap<int, int, int> map, Dictionary<(int Outer, int Inner), int> model)
    {
        Assert.Equal(model.OrderBy(p => p.Key).Select(p => (p.Key.Outer, p.Key.Inner, p.Value)), map.Select(e => (e.Outer, e.Inner, e.Value)).Order());
        Assert.Equal(model.Count, map.Count);
        Assert.Equal(model.Keys.Select(k => k.Outer).Distinct().Order(), map.OuterKeys.Order());
        Assert.Equal(model.Keys.Select(k => k.Outer).Distinct().Count(), map.OuterCount);
        Assert.Equal(model.Count == 0, map.IsEmpty);
        Assert.Empty(map.CheckIntegrity());
    }

    /// <summary>One generated operation: which method, on which keys, with which value.</summary>
    internal readonly record struct Op(int Kind, int Outer, int Inner, int Value);
}
