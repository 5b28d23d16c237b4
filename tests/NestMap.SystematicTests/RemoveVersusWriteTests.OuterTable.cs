using Microsoft.Coyote.Specifications;
using NestMap.Internal;

namespace NestMap.SystematicTests;

/// <summary>
/// The outer table's resize under Coyote: a resize relinks the inner maps into a new bucket array while readers and
/// enumerations walk the old chains without a lock (see <see cref="OuterTable{TOuter, TInner, TValue}"/>). The
/// scheduler can stop the resize between any two relinks and run a reader there.
/// </summary>
public sealed partial class RemoveVersusWriteTests
{
    [Fact]
    public void OuterTableResize_VersusReaders_HidesNoLinkedMap() => AssertNoBug(async () =>
    {
        // 12 maps fit the smallest table (16 buckets with 2 stripes, whatever the machine); the writer's 24 more make
        // it grow at least once.
        var table = new OuterTable<int, int, int>(0, null, stripes: 2);
        var stable = Enumerable.Range(0, 12).Select(key => NewInnerMap(table, key)).ToArray();
        foreach (var map in stable)
        {
            table.TryAdd(map);
        }

        var writer = Task.Run(() =>
        {
            for (var key = 100; key < 124; key++)
            {
                table.TryAdd(NewInnerMap(table, key));
            }
        });
        var reader = Task.Run(() =>
        {
            foreach (var map in stable)
            {
                Specification.Assert(ReferenceEquals(table.Find(map.Outer), map), $"Linked map {map.Outer} was not found.");
                var certain = table.TryFindDefault(map.Outer, out var found);
                Specification.Assert(!certain || ReferenceEquals(found, map), $"The fast path missed linked map {map.Outer} and called it certain.");
            }

            Specification.Assert(table.Find(99) is null, "An absent key was found.");
        });
        var enumeration = Task.Run(() =>
        {
            var seen = table.Maps().Where(map => map.Outer < 12).Select(map => map.Outer).ToList();
            Specification.Assert(seen.Count == 12 && seen.Distinct().Count() == 12, $"The enumeration returned {seen.Count} of the 12 linked maps ({seen.Distinct().Count()} distinct).");
        });
        await writer;
        await reader;
        await enumeration;
        Specification.Assert(table.BucketCount > 16, "The table did not grow: the scenario tests nothing.");
        Specification.Assert(table.CountMaps() == (36, 0), $"The table's chains are broken: {table.CountMaps()}.");
    });

    private static InnerMap<int, int, int> NewInnerMap(OuterTable<int, int, int> table, int key) =>
        InnerMap<int, int, int>.Create(key, table.HashOf(key), 0);
}
