using BenchmarkDotNet.Attributes;

namespace NestMap.Benchmarks;

/// <summary>
/// The cost of insertion-site sampling on inserts: 524,288 inserts of new entries (1,024 outer keys x 512) into a fresh
/// map per invocation, with sampling off (the baseline) and at 1 in 1,000 and 1 in 100.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 2, warmupCount: 3, iterationCount: 10)]
public class InsertionSamplingBenchmarks : IDisposable
{
    private const int Inserts = 1 << 19;
    private static readonly object Value = new();
    private ConcurrentNestedMap<long, long, object> _map = null!;

    [Params(0, 1_000, 100)]
    public int SamplingRate { get; set; }

    [IterationSetup]
    public void FreshMap()
    {
        _map?.Dispose();
        _map = new ConcurrentNestedMap<long, long, object>(new() { InsertionSiteSampling = SamplingRate });
    }

    [Benchmark(OperationsPerInvoke = Inserts)]
    public void InsertNewEntries()
    {
        var map = _map;
        for (long i = 0; i < Inserts; i++)
        {
            map.Set(i & 1023, i >> 10, Value);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _map?.Dispose();
        GC.SuppressFinalize(this);
    }
}
