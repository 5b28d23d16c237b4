using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;

namespace NestMap.Benchmarks;

/// <summary>
/// The cost of insertion-site sampling on inserts: 524,288 inserts of new entries (1,024 outer keys x 512) into a fresh
/// map per invocation, with sampling off (the baseline) and at 1 in 1,000 and 1 in 100, called from a shallow stack
/// and from 60 frames deeper (a stack capture walks every frame, so depth is what makes a sample expensive).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 3, warmupCount: 3, iterationCount: 12)]
public class InsertionSamplingBenchmarks : IDisposable
{
    private const int Inserts = 1 << 19;
    private static readonly object Value = new();
    private ConcurrentNestedMap<long, long, object> _map = null!;

    /// <summary>Gets or sets how many frames deeper than the benchmark method the inserts run.</summary>
    [Params(0, 60)]
    public int ExtraFrames { get; set; }

    [IterationSetup(Target = nameof(SamplingOff))]
    public void FreshMapOff() => FreshMap(0);

    [IterationSetup(Target = nameof(OneIn1000))]
    public void FreshMap1000() => FreshMap(1_000);

    [IterationSetup(Target = nameof(OneIn100))]
    public void FreshMap100() => FreshMap(100);

    [Benchmark(Baseline = true, OperationsPerInvoke = Inserts)]
    public void SamplingOff() => InsertAt(ExtraFrames);

    [Benchmark(OperationsPerInvoke = Inserts)]
    public void OneIn1000() => InsertAt(ExtraFrames);

    [Benchmark(OperationsPerInvoke = Inserts)]
    public void OneIn100() => InsertAt(ExtraFrames);

    /// <inheritdoc/>
    public void Dispose()
    {
        _map?.Dispose();
        GC.SuppressFinalize(this);
    }

    private void FreshMap(int rate)
    {
        _map?.Dispose();
        _map = new ConcurrentNestedMap<long, long, object>(new() { InsertionSiteSampling = rate });
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void InsertAt(int depth)
    {
        if (depth > 0)
        {
            InsertAt(depth - 1);
            return;
        }

        var map = _map;
        for (long i = 0; i < Inserts; i++)
        {
            map.Set(i & 1023, i >> 10, Value);
        }
    }
}
