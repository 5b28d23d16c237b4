using BenchmarkDotNet.Running;
using NestMap.Benchmarks;

// `-- report [section ...]` runs the suite and rewrites the generated regions of docs/benchmarks.md;
// `-- memory` runs the heap measurement (bytes per entry), `-- expiry` the expiry lag and slice measurement,
// `-- paired` the paired read diagnostic, `-- read-loop [structure]` single-threaded reads one structure per process, `-- sampling-cost` the paired cost of insertion-site sampling; anything else goes to BenchmarkDotNet's switcher.
switch (args)
{
    case ["report", .. var sections]:
        return await BenchmarkReport.RunAsync(sections, Console.Out);
    case ["memory", ..]:
        MemoryMeasurement.Run(Console.Out);
        return 0;
    case ["expiry", ..]:
        await ExpiryMeasurement.RunAsync(Console.Out);
        return 0;
    case ["probe", ..]:
        ExpressionCostProbe.Run(Console.Out);
        return 0;
    case ["sampling-cost", ..]:
        SamplingCostMeasurement.Run(Console.Out);
        return 0;
    case ["read-loop", .. var structures]:
        return ReadLoopMeasurement.Run(structures, Console.Out);
    case ["paired", ..]:
        PairedReadMeasurement.Run(Console.Out);
        return 0;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(NestedMapThroughputBenchmarks).Assembly).Run(args);
        return 0;
}
