using System.Collections.Concurrent;
using Microsoft.Coyote;
using Microsoft.Coyote.Rewriting;
using Microsoft.Coyote.Specifications;
using Microsoft.Coyote.SystematicTesting;

namespace NestMap.SystematicTests;

/// <summary>
/// Systematic tests of the remove-versus-write races with Microsoft.Coyote.
/// </summary>
/// <remarks>
/// Coyote runs each scenario many times, and each time its scheduler picks which task runs next at every
/// synchronisation point in the rewritten assemblies (monitor enter and exit, volatile and interlocked accesses, task
/// starts and awaits, and with race checking on, plain field accesses too). A random-walk and a
/// probabilistic-priority strategy explore interleavings that a stress test on two cores would hit rarely or never,
/// and an assertion that fails in any of them is reported with a replayable schedule. Each scenario asserts what
/// linearizability allows: one of the sequential orders of the racing operations, the structure intact, nothing
/// acknowledged and lost. <see cref="NaiveDesign_RemoveVersusWrite_BugIsFound"/> shows that the harness finds the
/// classic lost write in a design without retirement, so a pass here means something.
/// </remarks>
public sealed partial class RemoveVersusWriteTests(ITestOutputHelper output)
{
    private const uint Iterations = 1_000;

    [Fact]
    public void Assemblies_AreRewrittenForCoyote()
    {
        // Without rewriting, Coyote controls nothing and reports a spurious deadlock; guard against a silent setup break.
        Assert.True(RewritingEngine.IsAssemblyRewritten(typeof(ConcurrentNestedMap<,,>).Assembly), "NestMap.dll is not rewritten.");
        Assert.True(RewritingEngine.IsAssemblyRewritten(typeof(RemoveVersusWriteTests).Assembly), "The test assembly is not rewritten.");
    }

    [Fact]
    public void NaiveDesign_RemoveVersusWrite_BugIsFound()
    {
        var report = Explore(async () =>
        {
            var map = new NaiveNestedMap();
            map.Set("o", "a", 1);
            var remove = Task.Run(() => map.TryRemove("o", "a"));
            var write = Task.Run(() => map.Set("o", "b", 2));
            await remove;
            await write;
            Specification.Assert(map.TryGetValue("o", "b", out _), "Acknowledged write (o, b) was lost.");
        });

        Assert.True(report.NumOfFoundBugs > 0, "Coyote should find the lost write of the naive design.");
        Assert.Contains(report.BugReports, b => b.Contains("was lost", StringComparison.Ordinal));
    }

    [Fact]
    public void RemoveLastEntry_VersusSet_KeepsTheWrite() => AssertNoBug(async () =>
    {
        var map = NewMap(("o", "a", 1));
        var remove = Task.Run(() => map.TryRemove("o", "a", out _));
        var write = Task.Run(() => map.Set("o", "b", 2));
        Specification.Assert(await remove, "The remove of a present entry failed.");
        await write;
        Specification.Assert(map.TryGetValue("o", "b", out var value) && value == 2, "Acknowledged write (o, b) was lost.");
        Specification.Assert(!map.ContainsKey("o", "a"), "The removed entry is back.");
        AssertSound(map, expectedCount: 1);
    });

    [Fact]
    public void RemoveLastEntry_VersusTryAddOfSameKey_IsOneOfTheSequentialOrders() => AssertNoBug(async () =>
    {
        var map = NewMap(("o", "a", 1));
        var remove = Task.Run(() => (map.TryRemove("o", "a", out var removed), removed));
        var add = Task.Run(() => map.TryAdd("o", "a", 2));
        var (didRemove, removedValue) = await remove;
        var added = await add;
        Specification.Assert(didRemove && removedValue == 1, "The remove did not remove the original value.");
        var present = map.TryGetValue("o", "a", out var value);

        // Remove first: the add succeeds on a new inner map. Add first: it fails, and the remove leaves nothing.
        Specification.Assert(added ? present && value == 2 : !present, $"Not linearizable: added={added}, present={present}.");
        AssertSound(map, expectedCount: added ? 1 : 0);
    });

    [Fact]
    public void TwoRemoversOfLastEntries_VersusGetOrAdd_KeepTheAddedEntry() => AssertNoBug(async () =>
    {
        var map = NewMap(("o", "a", 1), ("o", "b", 2));
        var removeA = Task.Run(() => map.TryRemove("o", "a", out _));
        var removeB = Task.Run(() => map.TryRemove("o", "b", out _));
        var add = Task.Run(() => map.GetOrAdd("o", "c", (_, _) => 3));
        Specification.Assert(await removeA && await removeB, "A remove of a present entry failed.");
        Specification.Assert(await add == 3, "GetOrAdd returned a value that was never stored.");
        Specification.Assert(map.TryGetValue("o", "c", out var value) && value == 3, "Acknowledged GetOrAdd (o, c) was lost.");
        AssertSound(map, expectedCount: 1);
    });

    [Fact]
    public void RemoveOuter_VersusSet_IsOneOfTheSequentialOrders() => AssertNoBug(async () =>
    {
        var map = NewMap(("o", "a", 1));
        var removeOuter = Task.Run(() => map.RemoveOuter("o"));
        var write = Task.Run(() => map.Set("o", "b", 2));
        var removed = await removeOuter;
        await write;
        var present = map.ContainsKey("o", "b");

        // Set first: RemoveOuter takes both entries. RemoveOuter first: it takes one and the write survives.
        Specification.Assert((removed == 2 && !present) || (removed == 1 && present), $"Not linearizable: removed={removed}, present={present}.");
        AssertSound(map, expectedCount: present ? 1 : 0);
    });

    [Fact]
    public void AddOrUpdate_VersusRemoveOfSameKey_IsOneOfTheSequentialOrders() => AssertNoBug(async () =>
    {
        var map = NewMap(("o", "a", 0));
        var update = Task.Run(() => map.AddOrUpdate("o", "a", 100, (_, _, v) => v + 1));
        var remove = Task.Run(() => (map.TryRemove("o", "a", out var removed), removed));
        var stored = await update;
        var (didRemove, removedValue) = await remove;
        var present = map.TryGetValue("o", "a", out var value);

        // Update then remove: 1 is removed, nothing stays. Remove then update: 0 is removed and 100 is added.
        var updateFirst = stored == 1 && didRemove && removedValue == 1 && !present;
        var removeFirst = stored == 100 && didRemove && removedValue == 0 && present && value == 100;
        Specification.Assert(updateFirst || removeFirst, $"Not linearizable: stored={stored}, removed={removedValue}, present={present}.");
        AssertSound(map, expectedCount: present ? 1 : 0);
    });

    [Fact]
    public void ConcurrentAddOrUpdate_CountsBothIncrements() => AssertNoBug(async () =>
    {
        var map = NewMap(("o", "a", 0));
        var first = Task.Run(() => map.AddOrUpdate("o", "a", 1, (_, _, v) => v + 1));
        var second = Task.Run(() => map.AddOrUpdate("o", "a", 1, (_, _, v) => v + 1));
        await first;
        await second;
        Specification.Assert(map.TryGetValue("o", "a", out var value) && value == 2, $"An increment was lost: value={value}.");
        AssertSound(map, expectedCount: 1);
    });

    [Fact]
    public void AddOrUpdate_VersusGrowthIntoSuccessor_CountsTheIncrement() => AssertNoBug(async () =>
    {
        // The map holds 2 entries in 2 buckets, so the writer's first add grows it into a successor (and marks this
        // one Moved) while the optimistic update may be between its read and its commit.
        var map = NewMap(("o", "counter", 0), ("o", "other", 0));
        var update = Task.Run(() => map.AddOrUpdate("o", "counter", 1, (_, _, v) => v + 1));
        var writer = Task.Run(() =>
        {
            map.Set("o", "x", 1);
            map.Set("o", "y", 1);
            map.Set("o", "z", 1);
        });
        Specification.Assert(await update == 1, "AddOrUpdate returned a value other than the one it stored.");
        await writer;
        Specification.Assert(map.TryGetValue("o", "counter", out var value) && value == 1, $"The increment was lost: {value}.");
        AssertSound(map, expectedCount: 5);
    });

    [Fact]
    public void Clear_VersusSetAndRemove_LeavesAConsistentOuterKey() => AssertNoBug(async () =>
    {
        var map = NewMap(("o", "a", 1), ("p", "a", 1));
        var clear = Task.Run(map.Clear);
        var write = Task.Run(() => map.Set("o", "b", 2));
        var remove = Task.Run(() => map.TryRemove("p", "a", out _));
        await clear;
        await write;
        await remove;

        // "a" under "o" existed before Clear started and nothing re-adds it; "b" survives only if written after Clear
        // passed "o", and then it is the only entry.
        Specification.Assert(!map.ContainsKey("o", "a") && !map.ContainsKey("p", "a"), "An entry older than Clear survived it.");
        AssertSound(map, expectedCount: map.ContainsKey("o", "b") ? 1 : 0);
    });

    [Fact]
    public void Reader_VersusResizeAndShrink_NeverMissesPresentKey() => AssertNoBug(async () =>
    {
        // The writer grows the inner map through two resizes and drains it again; the anchor is present throughout,
        // so a lock-free read must find it whatever the interleaving.
        var map = NewMap(("o", "anchor", 7));
        var writer = Task.Run(() =>
        {
            for (var i = 0; i < 5; i++)
            {
                map.Set("o", $"k{i}", i);
            }

            for (var i = 0; i < 5; i++)
            {
                map.TryRemove("o", $"k{i}", out _);
            }
        });
        var reader = Task.Run(() =>
        {
            for (var i = 0; i < 3; i++)
            {
                Specification.Assert(map.TryGetValue("o", "anchor", out var value) && value == 7, "A present key was missed by a reader.");
            }
        });
        await writer;
        await reader;
        AssertSound(map, expectedCount: 1);
    }, raceChecking: true);

    private static ConcurrentNestedMap<string, string, int> NewMap(params (string Outer, string Inner, int Value)[] entries)
    {
        var map = new ConcurrentNestedMap<string, string, int>();
        foreach (var (outer, inner, value) in entries)
        {
            map.Set(outer, inner, value);
        }

        return map;
    }

    private static void AssertSound(ConcurrentNestedMap<string, string, int> map, long expectedCount)
    {
        var problems = map.CheckIntegrity();
        Specification.Assert(problems.Count == 0, $"Integrity: {string.Join("; ", problems)}");
        Specification.Assert(map.Count == expectedCount, $"Count is {map.Count}, expected {expectedCount}.");
    }

    private void AssertNoBug(Func<Task> scenario, bool raceChecking = false, uint iterations = Iterations)
    {
        var report = Explore(scenario, raceChecking, iterations);
        Assert.Empty(report.UncontrolledInvocations);
        Assert.True(report.NumOfFoundBugs == 0, string.Join(Environment.NewLine, report.BugReports));
    }

    private TestReport Explore(Func<Task> scenario, bool raceChecking = false, uint iterations = Iterations)
    {
        var configuration = Configuration.Create()
            .WithTestingIterations(iterations)
            .WithMemoryAccessRaceCheckingEnabled(raceChecking)
            .WithTelemetryEnabled(false);
        using var engine = TestingEngine.Create(configuration, scenario);
        engine.Run();
        var report = engine.TestReport;
        output.WriteLine($"{report.NumOfExploredFairPaths + report.NumOfExploredUnfairPaths} schedules explored, {report.NumOfFoundBugs} bug(s).");
        foreach (var bug in report.BugReports)
        {
            output.WriteLine(bug);
        }

        return report;
    }

    /// <summary>
    /// The classic design without retirement: a writer that looked up the inner map before a remover emptied and
    /// unlinked it writes into the unlinked map, and the acknowledged write is gone.
    /// </summary>
    private sealed class NaiveNestedMap
    {
        private readonly ConcurrentDictionary<string, Dictionary<string, int>> _outer = new();

        public void Set(string outer, string inner, int value)
        {
            var map = _outer.GetOrAdd(outer, _ => []);
            lock (map)
            {
                map[inner] = value;
            }
        }

        public bool TryRemove(string outer, string inner)
        {
            if (!_outer.TryGetValue(outer, out var map))
            {
                return false;
            }

            lock (map)
            {
                if (!map.Remove(inner))
                {
                    return false;
                }

                if (map.Count == 0)
                {
                    _outer.TryRemove(new KeyValuePair<string, Dictionary<string, int>>(outer, map));
                }

                return true;
            }
        }

        public bool TryGetValue(string outer, string inner, out int value)
        {
            value = 0;
            if (!_outer.TryGetValue(outer, out var map))
            {
                return false;
            }

            lock (map)
            {
                return map.TryGetValue(inner, out value);
            }
        }
    }
}
