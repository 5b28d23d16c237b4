using NestMap.Internal;

namespace NestMap.Tests;

/// <summary>
/// The outer level on its own: an intrusive chained table of inner maps with lock-free reads, striped writers and a
/// resize that relinks the maps (see <see cref="OuterTable{TOuter, TInner, TValue}"/>). Unit cases, a model-based test
/// against a dictionary, and barrier-started soaks of readers and enumerators against resizes.
/// </summary>
public sealed class OuterTableTests
{
    [Fact]
    public void AddFindReplaceRemove_FollowTheirContracts()
    {
        var table = new OuterTable<int, int, int>(0, null);
        var first = NewMap(table, 7);
        Assert.Null(table.Find(7));
        Assert.True(table.TryAdd(first));
        Assert.Same(first, table.Find(7));
        Assert.False(table.TryAdd(NewMap(table, 7)), "A second map for a linked key was linked.");
        Assert.Same(first, table.Find(7));

        var successor = NewMap(table, 7);
        Assert.True(table.TryReplace(first, successor));
        Assert.Same(successor, table.Find(7));
        Assert.False(table.TryReplace(first, NewMap(table, 7)), "A map no longer linked was replaced.");
        Assert.False(table.TryRemove(first), "A map no longer linked was removed.");
        Assert.Equal(1, table.Count);

        Assert.True(table.TryRemove(successor));
        Assert.Null(table.Find(7));
        Assert.Equal(0, table.Count);
        Assert.False(table.TryRemove(successor));
    }

    [Fact]
    public void Grows_AtALoadFactorOfOne_KeepingEveryMapInItsBucket()
    {
        var table = new OuterTable<long, int, int>(0, null);
        var initial = table.BucketCount;
        const int keys = 10_000;
        for (long key = 0; key < keys; key++)
        {
            Assert.True(table.TryAdd(NewMap(table, key * 7919)));
        }

        Assert.InRange(table.BucketCount, keys / 2, 4 * keys); // grew, and not without bound
        Assert.True(table.BucketCount > initial);
        Assert.Equal((keys, 0), table.CountMaps());
        for (long key = 0; key < keys; key++)
        {
            Assert.Equal(key * 7919, table.Find(key * 7919)!.Outer);
        }
    }

    [Fact]
    public void CollidingHashes_StillFindEveryKey_AndTheTableStaysBounded()
    {
        // Every key hashes alike, so they share one chain whatever the size: the table grows with the count (load
        // factor 1) but never doubles on for a crowded stripe alone.
        var table = new OuterTable<string, int, int>(0, new SameHash());
        for (var i = 0; i < 300; i++)
        {
            Assert.True(table.TryAdd(NewMap(table, $"k{i}")));
        }

        Assert.False(table.TryAdd(NewMap(table, "k42")));
        Assert.InRange(table.BucketCount, 16, 1024);
        for (var i = 0; i < 300; i++)
        {
            Assert.Equal($"k{i}", table.Find($"k{i}")!.Outer);
        }

        Assert.Null(table.Find("absent"));
    }

    [Fact]
    public void CustomComparer_DecidesEquality()
    {
        var table = new OuterTable<string, int, int>(0, StringComparer.OrdinalIgnoreCase);
        var map = NewMap(table, "Key");
        Assert.True(table.TryAdd(map));
        Assert.Same(map, table.Find("KEY"));
        Assert.False(table.TryAdd(NewMap(table, "key")));
        Assert.Throws<ArgumentNullException>(() => table.Find(null!));
    }

    [Fact]
    public void ValueTypeFastPath_AgreesWithTheGeneralLookup()
    {
        var table = new OuterTable<long, int, int>(0, null);
        Assert.True(table.HasDefaultComparer);
        for (long key = 0; key < 100; key++)
        {
            Assert.True(table.TryAdd(NewMap(table, key)));
        }

        for (long key = -50; key < 150; key++)
        {
            Assert.True(table.TryFindDefault(key, out var found), "Certain at quiescence.");
            Assert.Same(table.Find(key), found);
            Assert.Equal(key is >= 0 and < 100, found is not null);
        }

        Assert.False(new OuterTable<long, int, int>(0, EqualityComparer<long>.Create((x, y) => x == y, x => 0)).HasDefaultComparer);
    }

    [Fact]
    public void RandomOperations_MatchADictionaryModel()
    {
        var random = new Random(2026);
        var table = new OuterTable<int, int, int>(0, null);
        var model = new Dictionary<int, InnerMap<int, int, int>>();
        var unlinked = new List<InnerMap<int, int, int>>();
        for (var step = 0; step < 50_000; step++)
        {
            var key = random.Next(2_000);
            switch (random.Next(5))
            {
                case 0:
                case 1:
                    var map = NewMap(table, key);
                    var added = table.TryAdd(map);
                    Assert.Equal(model.TryAdd(key, map), added);
                    if (!added)
                    {
                        unlinked.Add(map);
                    }

                    break;
                case 2:
                    if (model.TryGetValue(key, out var current))
                    {
                        var successor = NewMap(table, key);
                        Assert.True(table.TryReplace(current, successor));
                        model[key] = successor;
                        unlinked.Add(current);
                    }

                    break;
                case 3:
                    if (model.Remove(key, out var removed))
                    {
                        Assert.True(table.TryRemove(removed));
                        unlinked.Add(removed);
                    }
                    else if (unlinked.Count > 0)
                    {
                        var stale = unlinked[random.Next(unlinked.Count)];
                        Assert.False(table.TryRemove(stale));
                        Assert.False(table.TryReplace(stale, NewMap(table, stale.Outer)));
                    }

                    break;
                default:
                    Assert.Same(model.GetValueOrDefault(key), table.Find(key));
                    break;
            }

            if (step % 5_000 == 0)
            {
                Assert.Equal(model.Count, table.Count);
                Assert.Equal(model.Values.ToHashSet(), table.Maps().ToHashSet());
                Assert.Equal(model.Count, table.Maps().Count());
            }
        }

        Assert.Equal((model.Count, 0), table.CountMaps());
    }

    [Fact]
    public void Resizes_NeverHideALinkedMap_FromReadersOrEnumerators()
    {
        // Stable keys are linked before the start and stay; a writer links and unlinks fresh keys, growing the table
        // many times (16 buckets up to 2^17). Readers must find every stable key every time and never an absent one;
        // an enumeration must return every stable map exactly once, whatever resize it overlaps.
        var table = new OuterTable<long, int, int>(0, null);
        var stable = new InnerMap<long, int, int>[64];
        for (var i = 0; i < stable.Length; i++)
        {
            stable[i] = NewMap(table, i);
            Assert.True(table.TryAdd(stable[i]));
        }

        var writing = 1;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var enumerations = 0;
        SoakTests.RunTogether(4, thread =>
        {
            if (thread == 0)
            {
                try
                {
                    for (long key = 1_000; key < 101_000; key++)
                    {
                        table.TryAdd(NewMap(table, key));
                        if (key % 3 == 0 && table.Find(key - 1) is { } map)
                        {
                            table.TryRemove(map);
                        }
                    }
                }
                finally
                {
                    Volatile.Write(ref writing, 0); // also when the writer fails, or the readers would spin forever
                }
            }
            else if (thread == 3)
            {
                while (Volatile.Read(ref writing) == 1)
                {
                    var seen = new Dictionary<long, int>();
                    foreach (var map in table.Maps())
                    {
                        seen[map.Outer] = seen.GetValueOrDefault(map.Outer) + 1;
                    }

                    if (seen.Any(pair => pair.Value != 1))
                    {
                        errors.Enqueue("An enumeration returned a map twice.");
                    }

                    if (stable.Any(map => !seen.ContainsKey(map.Outer)))
                    {
                        errors.Enqueue("An enumeration skipped a stable map.");
                    }

                    enumerations++;
                }
            }
            else
            {
                while (Volatile.Read(ref writing) == 1)
                {
                    foreach (var map in stable)
                    {
                        if (!ReferenceEquals(table.Find(map.Outer), map))
                        {
                            errors.Enqueue($"Stable key {map.Outer} was not found.");
                        }

                        if (!table.TryFindDefault(map.Outer, out var found) ? !ReferenceEquals(table.Find(map.Outer), map) : !ReferenceEquals(found, map))
                        {
                            errors.Enqueue($"Stable key {map.Outer} was not found by the fast path.");
                        }
                    }

                    if (table.Find(-1 - thread) is not null)
                    {
                        errors.Enqueue("An absent key was found.");
                    }
                }
            }
        });

        Assert.Empty(errors);
        Assert.True(enumerations > 0);
        Assert.True(table.BucketCount >= 1 << 16, $"The table should have grown many times (it has {table.BucketCount} buckets).");
        var (maps, misplaced) = table.CountMaps();
        Assert.Equal(0, misplaced);
        Assert.Equal(table.Count, maps);
        Assert.All(stable, map => Assert.Same(map, table.Find(map.Outer)));
    }

    private static InnerMap<TOuter, int, int> NewMap<TOuter>(OuterTable<TOuter, int, int> table, TOuter outer)
        where TOuter : notnull =>
        InnerMap<TOuter, int, int>.Create(outer, table.HashOf(outer), 0);

    private sealed class SameHash : IEqualityComparer<string>
    {
        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string obj) => 42;
    }
}
