namespace NestMap.Tests;

public sealed class ConcurrentNestedMapTests
{
    [Fact]
    public void Set_OnAbsentOuterKey_CreatesInnerMap()
    {
        var map = new ConcurrentNestedMap<string, string, int>();

        map.Set("tenant", "session", 1);

        Assert.True(map.TryGetValue("tenant", "session", out var value));
        Assert.Equal(1, value);
        Assert.Equal(1, map.Count);
        Assert.Equal(1, map.OuterCount);
        Assert.True(map.ContainsOuter("tenant"));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void Set_OnExistingEntry_OverwritesWithoutChangingCounts()
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        map.Set("t", "s", 1);

        map.Set("t", "s", 2);

        Assert.Equal(2, map["t", "s"]);
        Assert.Equal(1, map.Count);
        Assert.Equal(1, map.CountOf("t"));
    }

    [Fact]
    public void Indexer_Get_OnAbsentEntry_ThrowsKeyNotFound()
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        map["t", "a"] = 1;

        var error = Assert.Throws<KeyNotFoundException>(() => map["t", "b"]);
        Assert.Contains("(t, b)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryAdd_OnExistingEntry_ReturnsFalseAndKeepsValue()
    {
        var map = new ConcurrentNestedMap<int, int, string>();

        Assert.True(map.TryAdd(1, 2, "first"));
        Assert.False(map.TryAdd(1, 2, "second"));

        Assert.Equal("first", map[1, 2]);
        Assert.Equal(1, map.Count);
    }

    [Fact]
    public void TryGetValue_OnAbsentOuterOrInner_ReturnsFalseAndDefault()
    {
        var map = new ConcurrentNestedMap<int, int, string>();
        map.Set(1, 1, "x");

        Assert.False(map.TryGetValue(2, 1, out var missingOuter));
        Assert.Null(missingOuter);
        Assert.False(map.TryGetValue(1, 2, out var missingInner));
        Assert.Null(missingInner);
        Assert.False(map.ContainsKey(1, 2));
        Assert.True(map.ContainsKey(1, 1));
    }

    [Fact]
    public void GetOrAdd_WithFactory_AddsOnceAndReturnsExistingAfterwards()
    {
        var map = new ConcurrentNestedMap<string, int, string>();
        var calls = 0;

        var first = map.GetOrAdd("o", 1, (o, i) => { calls++; return $"{o}:{i}"; });
        var second = map.GetOrAdd("o", 1, (_, _) => { calls++; return "other"; });

        Assert.Equal("o:1", first);
        Assert.Equal("o:1", second);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void GetOrAdd_WithValueAndWithArgument_ReturnStoredValue()
    {
        var map = new ConcurrentNestedMap<string, int, int>();

        Assert.Equal(5, map.GetOrAdd("o", 1, 5));
        Assert.Equal(5, map.GetOrAdd("o", 1, 6));
        Assert.Equal(20, map.GetOrAdd("o", 2, static (_, i, factor) => i * factor, 10));
        Assert.Equal(20, map.GetOrAdd("o", 2, static (_, _, _) => -1, 0));
        Assert.Equal(2, map.Count);
    }

    [Fact]
    public void GetOrAdd_FactoryThrowsOnNewOuterKey_LeavesNoInnerMapBehind()
    {
        var map = new ConcurrentNestedMap<string, int, int>();

        Assert.Throws<InvalidOperationException>(() => map.GetOrAdd("o", 1, (_, _) => throw new InvalidOperationException()));

        Assert.False(map.ContainsOuter("o"));
        Assert.Equal(0, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void AddOrUpdate_AddsThenUpdates()
    {
        var map = new ConcurrentNestedMap<string, string, int>();

        Assert.Equal(1, map.AddOrUpdate("o", "i", (_, _) => 1, (_, _, v) => v + 10));
        Assert.Equal(11, map.AddOrUpdate("o", "i", (_, _) => 1, (_, _, v) => v + 10));
        Assert.Equal(21, map.AddOrUpdate("o", "i", 100, (_, _, v) => v + 10));
        Assert.Equal(100, map.AddOrUpdate("o", "j", 100, (_, _, v) => v + 10));
        Assert.Equal(24, map.AddOrUpdate("o", "i", static (_, _, a) => a, static (_, _, v, a) => v + a, 3));
        Assert.Equal(2, map.Count);
    }

    [Fact]
    public void AddOrUpdate_WithStructValue_ReplacesWholeValue()
    {
        // A 16-byte struct is not written atomically, so updates publish a new node; the result must be the same.
        var map = new ConcurrentNestedMap<int, int, (long A, long B)>();
        map.Set(1, 1, (1, 1));

        var result = map.AddOrUpdate(1, 1, (_, _) => (0, 0), (_, _, v) => (v.A + 1, v.B + 2));
        map.Set(1, 1, (result.A * 10, result.B * 10));

        Assert.Equal((20L, 30L), map[1, 1]);
        Assert.True(map.TryUpdate(1, 1, (7, 7), (20, 30)));
        Assert.Equal((7L, 7L), map[1, 1]);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void TryUpdate_ComparesWithCurrentValue()
    {
        var map = new ConcurrentNestedMap<string, string, string>();
        map.Set("o", "i", "a");

        Assert.False(map.TryUpdate("o", "i", "c", "b"));
        Assert.True(map.TryUpdate("o", "i", "c", "a"));
        Assert.False(map.TryUpdate("o", "missing", "c", "a"));
        Assert.False(map.TryUpdate("missing", "i", "c", "a"));

        Assert.Equal("c", map["o", "i"]);
    }

    [Fact]
    public void TryRemove_LastEntry_ReclaimsInnerMap()
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        map.Set("o", "a", 1);
        map.Set("o", "b", 2);

        Assert.True(map.TryRemove("o", "a", out var a));
        Assert.Equal(1, a);
        Assert.True(map.ContainsOuter("o"));
        Assert.True(map.TryRemove("o", "b", out var b));
        Assert.Equal(2, b);

        Assert.False(map.ContainsOuter("o"));
        Assert.Equal(0, map.OuterCount);
        Assert.Equal(0, map.Count);
        Assert.True(map.IsEmpty);
        Assert.Empty(map.OuterKeys);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void TryRemove_AbsentEntry_ReturnsFalseAndKeepsOthers()
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        map.Set("o", "a", 1);

        Assert.False(map.TryRemove("o", "b", out var missing));
        Assert.Equal(0, missing);
        Assert.False(map.TryRemove("x", "a", out _));

        Assert.Equal(1, map.Count);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void Write_AfterInnerMapWasReclaimed_CreatesFreshInnerMap()
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        map.Set("o", "a", 1);
        map.TryRemove("o", "a", out _);

        map.Set("o", "b", 2);

        Assert.Equal(2, map["o", "b"]);
        Assert.False(map.ContainsKey("o", "a"));
        Assert.Equal(1, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void RemoveOuter_RemovesAllEntriesAndReturnsHowMany()
    {
        var map = new ConcurrentNestedMap<int, int, int>();
        for (var i = 0; i < 50; i++)
        {
            map.Set(1, i, i);
            map.Set(2, i, i);
        }

        Assert.Equal(50, map.RemoveOuter(1));
        Assert.Equal(0, map.RemoveOuter(1));
        Assert.Equal(0, map.RemoveOuter(3));

        Assert.Equal(50, map.Count);
        Assert.Equal(1, map.OuterCount);
        Assert.False(map.ContainsOuter(1));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void CountOf_And_ContainsOuter_ReflectEntries()
    {
        var map = new ConcurrentNestedMap<string, int, int>();
        map.Set("a", 1, 1);
        map.Set("a", 2, 2);
        map.Set("b", 1, 1);

        Assert.Equal(2, map.CountOf("a"));
        Assert.Equal(1, map.CountOf("b"));
        Assert.Equal(0, map.CountOf("c"));
        Assert.False(map.ContainsOuter("c"));
        Assert.Equal(3, map.Count);
        Assert.Equal(2, map.OuterCount);
    }

    [Fact]
    public void SnapshotOf_ReturnsIndependentCopy()
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        map.Set("o", "a", 1);
        map.Set("o", "b", 2);

        var snapshot = map.SnapshotOf("o");
        map.Set("o", "c", 3);
        map.TryRemove("o", "a", out _);

        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 2 }, snapshot);
        Assert.Empty(map.SnapshotOf("absent"));
    }

    [Fact]
    public void SnapshotOf_UsesInnerComparer()
    {
        var map = new ConcurrentNestedMap<string, string, int>(null, StringComparer.OrdinalIgnoreCase);
        map.Set("o", "Key", 1);

        var snapshot = map.SnapshotOf("o");

        Assert.True(snapshot.ContainsKey("KEY"));
    }

    [Fact]
    public void Comparers_FromOptions_AreUsedForBothLevels()
    {
        var map = new ConcurrentNestedMap<string, string, int>(new NestedMapOptions<string, string, int>
        {
            OuterComparer = StringComparer.OrdinalIgnoreCase,
            InnerComparer = StringComparer.OrdinalIgnoreCase,
        });

        map.Set("Tenant", "Session", 1);
        map.Set("TENANT", "SESSION", 2);

        Assert.Equal(2, map["tenant", "session"]);
        Assert.Equal(1, map.Count);
        Assert.Equal(1, map.OuterCount);
    }

    [Fact]
    public void ValueTypeInnerKey_WithCustomComparer_UsesIt()
    {
        var map = new ConcurrentNestedMap<int, int, string>(null, new ModuloComparer(10));

        map.Set(1, 3, "three");
        map.Set(1, 13, "thirteen");

        Assert.Equal(1, map.Count);
        Assert.Equal("thirteen", map[1, 23]);
    }

    [Fact]
    public void Options_NegativeCapacity_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new NestedMapOptions<int, int, int> { InitialInnerCapacity = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrentNestedMap<int, int, int>(new NestedMapOptions<int, int, int> { InitialOuterCapacity = -1 }));
    }

    [Fact]
    public void InitialInnerCapacity_DoesNotChangeBehaviour()
    {
        var map = new ConcurrentNestedMap<int, int, int>(new NestedMapOptions<int, int, int> { InitialInnerCapacity = 1000 });
        for (var i = 0; i < 3000; i++)
        {
            map.Set(i % 3, i, i);
        }

        Assert.Equal(3000, map.Count);
        Assert.Equal(1000, map.CountOf(2));
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void NullKeys_ThrowArgumentNull()
    {
        var map = new ConcurrentNestedMap<string, string, int>();

        Assert.Throws<ArgumentNullException>(() => map.Set(null!, "i", 1));
        Assert.Throws<ArgumentNullException>(() => map.Set("o", null!, 1));
        Assert.Throws<ArgumentNullException>(() => map.TryGetValue(null!, "i", out _));
        Assert.Throws<ArgumentNullException>(() => map.TryRemove("o", null!, out _));
        Assert.Throws<ArgumentNullException>(() => map.RemoveOuter(null!));
        Assert.Throws<ArgumentNullException>(() => map.CountOf(null!));
        Assert.Throws<ArgumentNullException>(() => map.SnapshotOf(null!));
        Assert.Throws<ArgumentNullException>(() => map.GetOrAdd("o", "i", (Func<string, string, int>)null!));
        Assert.Throws<ArgumentNullException>(() => map.AddOrUpdate("o", "i", 1, null!));
        Assert.Equal(0, map.OuterCount);
    }

#pragma warning disable CS8714 // Nullable<T> keys do not satisfy `notnull` to the compiler, but users can write them.
    [Fact]
    public void NullableKeys_NullIsRejected_AsForReferenceKeys()
    {
        using var map = new ConcurrentNestedMap<int?, int?, int>();
        map.Set(1, 2, 3);

        Assert.Throws<ArgumentNullException>(() => map.Set(null, 2, 4));
        Assert.Throws<ArgumentNullException>(() => map.Set(1, null, 4));
        Assert.Throws<ArgumentNullException>(() => map.TryAdd(null, 2, 4));
        Assert.Throws<ArgumentNullException>(() => map.TryGetValue(null, 2, out _));
        Assert.Throws<ArgumentNullException>(() => map.TryGetValue(1, null, out _));
        Assert.Throws<ArgumentNullException>(() => map.ContainsKey(null, 2));
        Assert.Throws<ArgumentNullException>(() => map.GetOrAdd(null, 2, 4));
        Assert.Throws<ArgumentNullException>(() => map.GetOrAdd(1, null, 4));
        Assert.Throws<ArgumentNullException>(() => map.TryRemove(null, 2, out _));
        Assert.Throws<ArgumentNullException>(() => map.RemoveOuter(null));
        Assert.Throws<ArgumentNullException>(() => map.CountOf(null));
        Assert.Throws<ArgumentNullException>(() => map.SnapshotOf(null));

        Assert.True(map.TryGetValue(1, 2, out var value));
        Assert.Equal(3, value);
        Assert.Equal(1, map.Count);
        Assert.Equal(1, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }
#pragma warning restore CS8714

    [Fact]
    public void ThrowingComparer_OnNewOuterKey_LeavesNoZombie()
    {
        var comparer = new ThrowingComparer();
        var map = new ConcurrentNestedMap<string, string, int>(null, comparer);
        map.Set("o", "a", 1);
        comparer.ThrowOnEquals = true;

        // "a" collides with itself: Set walks the chain, calls Equals, which throws inside the lock.
        Assert.Throws<InvalidOperationException>(() => map.Set("o", "a", 2));
        comparer.ThrowOnEquals = false;
        Assert.True(map.TryRemove("o", "a", out _));

        Assert.Equal(0, map.OuterCount);
        Assert.Empty(map.CheckIntegrity());
    }

    [Fact]
    public void Enumeration_YieldsEveryEntryOnce()
    {
        var map = new ConcurrentNestedMap<int, int, int>();
        var expected = new HashSet<(int, int, int)>();
        for (var o = 0; o < 20; o++)
        {
            for (var i = 0; i < o; i++)
            {
                map.Set(o, i, o * 1000 + i);
                expected.Add((o, i, o * 1000 + i));
            }
        }

        var seen = map.Select(e => (e.Outer, e.Inner, e.Value)).ToList();

        Assert.Equal(expected.Count, seen.Count);
        Assert.Equal(expected, seen.ToHashSet());
        Assert.Equal(Enumerable.Range(1, 19).ToHashSet(), map.OuterKeys.ToHashSet());
    }

    [Fact]
    public void Entry_Deconstructs()
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        map.Set("o", "i", 7);

        var (outer, inner, value) = Assert.Single(map);

        Assert.Equal(("o", "i", 7), (outer, inner, value));
    }

    [Fact]
    public void Clear_RemovesEverything()
    {
        var map = new ConcurrentNestedMap<int, int, int>();
        for (var i = 0; i < 1000; i++)
        {
            map.Set(i % 17, i, i);
        }

        map.Clear();

        Assert.Equal(0, map.Count);
        Assert.Equal(0, map.OuterCount);
        Assert.True(map.IsEmpty);
        Assert.Empty(map);
        Assert.Empty(map.CheckIntegrity());
        map.Set(1, 1, 1);
        Assert.Equal(1, map.Count);
    }

    [Fact]
    public void GrowAndShrink_KeepsEveryEntryReachable()
    {
        var map = new ConcurrentNestedMap<long, long, long>();
        for (long i = 0; i < 10_000; i++)
        {
            map.Set(1, i * 1024, i); // hashes differing only in high bits: Fibonacci hashing must still spread them
        }

        for (long i = 0; i < 9_990; i++)
        {
            Assert.True(map.TryRemove(1, i * 1024, out var v));
            Assert.Equal(i, v);
        }

        Assert.Equal(10, map.CountOf(1));
        for (long i = 9_990; i < 10_000; i++)
        {
            Assert.Equal(i, map[1, i * 1024]);
        }

        Assert.Empty(map.CheckIntegrity());
    }

    private sealed class ModuloComparer(int modulus) : IEqualityComparer<int>
    {
        public bool Equals(int x, int y) => x % modulus == y % modulus;

        public int GetHashCode(int obj) => obj % modulus;
    }

    private sealed class ThrowingComparer : IEqualityComparer<string>
    {
        public bool ThrowOnEquals { get; set; }

        public bool Equals(string? x, string? y) => ThrowOnEquals ? throw new InvalidOperationException() : string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string obj) => StringComparer.Ordinal.GetHashCode(obj);
    }
}
