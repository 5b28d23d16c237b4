using BenchmarkDotNet.Attributes;

namespace NestMap.Benchmarks;

/// <summary>
/// Whether pooling inner maps (the background article's <c>sync.Pool</c> idea) could pay: the cost of an add and a
/// remove that create and reclaim an inner map each time, against the same add and remove under an outer key that
/// stays alive (held by a second entry), so no inner map is made or reclaimed.
/// </summary>
/// <remarks>
/// The difference bounds what a pool could save per cycle; a pool could save only the allocation inside it (the inner
/// map and its two-bucket array), not the outer table's insert and removal, which a pool does not touch.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 2, warmupCount: 3, iterationCount: 8)]
public class InnerMapChurnBenchmarks : IDisposable
{
    private const int Cycles = 1 << 16;
    private static readonly object Value = new();
    private ConcurrentNestedMap<long, long, object> _map = null!;

    [GlobalSetup]
    public void Setup()
    {
        _map = new ConcurrentNestedMap<long, long, object>();
        for (long outer = 0; outer < Cycles; outer++)
        {
            _map.Set(-1 - outer, -1, Value); // the outer keys of the KeepAlive case, each held by an entry
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Cycles)]
    public void AddRemove_OuterKeyStaysAlive()
    {
        for (long outer = 0; outer < Cycles; outer++)
        {
            _map.Set(-1 - outer, 1, Value);
            _map.TryRemove(-1 - outer, 1, out _);
        }
    }

    [Benchmark(OperationsPerInvoke = Cycles)]
    public void AddRemove_CreatesAndReclaimsInnerMap()
    {
        for (long outer = 0; outer < Cycles; outer++)
        {
            _map.Set(outer, 1, Value);
            _map.TryRemove(outer, 1, out _);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _map?.Dispose();
        GC.SuppressFinalize(this);
    }
}
