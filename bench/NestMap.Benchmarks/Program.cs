using BenchmarkDotNet.Running;
using NestMap.Benchmarks;

// `-- memory` runs the heap measurement (bytes per entry), `-- expiry` the expiry lag and slice measurement,
// `-- paired` the paired read diagnostic; anything else goes to BenchmarkDotNet's switcher.
if (args is ["memory", ..])
{
    MemoryMeasurement.Run(Console.Out);
    return;
}

if (args is ["expiry", ..])
{
    await ExpiryMeasurement.RunAsync(Console.Out);
    return;
}

if (args is ["paired", ..])
{
    PairedReadMeasurement.Run(Console.Out);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(NestedMapThroughputBenchmarks).Assembly).Run(args);
