namespace NestMap.Tests;

/// <summary>
/// The hot paths allocate nothing beyond the entries they store: counted in bytes on this thread, not timed. (A write
/// once allocated a closure of the insertion-site sampler on every call, sampling or not; this catches that kind.)
/// </summary>
public sealed class AllocationTests
{
    private const int Operations = 1_000;

    [Fact]
    public void ReadsAndOverwrites_AllocateNothing_AndAddRemoveOnlyTheNode()
    {
        var value = new object();
        using var map = new ConcurrentNestedMap<long, long, object>();
        map.Set(1, -1, value);
        for (var warm = 0; warm < 10 * Operations; warm++)
        {
            map.Set(1, 7, value);
            map.TryGetValue(1, 7, out _);
            map.TryRemove(1, 7, out _);
        }

        map.Set(1, 7, value);
        Assert.InRange(BytesPerOperation(() => map.Set(1, 7, value)), 0, 1);
        Assert.InRange(BytesPerOperation(() => map.TryGetValue(1, 7, out _)), 0, 1);
        map.TryRemove(1, 7, out _);

        // One node (48 bytes for these types) per add; the remove allocates nothing.
        Assert.InRange(BytesPerOperation(() => { map.Set(1, 7, value); map.TryRemove(1, 7, out _); }), 40, 56);
    }

    private static double BytesPerOperation(Action operation)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Operations; i++)
        {
            operation();
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Operations;
    }
}
