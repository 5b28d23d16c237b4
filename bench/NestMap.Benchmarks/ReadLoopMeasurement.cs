using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace NestMap.Benchmarks;

/// <summary>
/// A diagnostic beside the BenchmarkDotNet suite: single-threaded random reads of the 1M-entry shape, one structure
/// per process as BenchmarkDotNet runs them, timed over many rounds in a tight loop whose code can be read with
/// <c>DOTNET_JitDisasm</c>. It is how the read-path findings in docs/benchmarks.md were measured.
/// </summary>
/// <remarks>
/// <c>-- read-loop</c> runs every structure, each in its own child process, three launches interleaved, and prints the
/// median time per read of each launch; <c>-- read-loop NAME</c> measures one structure in this process. The clock
/// variants add one clock read per successful lookup to the nested dictionary's loop, to measure what a per-read clock
/// costs a loop of cache-missing lookups.
/// </remarks>
internal static class ReadLoopMeasurement
{
    private const int Rounds = 200;
    private const int WarmupRounds = 100;
    private const int Launches = 3;

    private static readonly string[] Structures = ["nested", "map", "map-ttl", "nested+tickcount", "nested+timestamp"];

    public static int Run(string[] structures, TextWriter output)
    {
        if (structures is [var one])
        {
            if (!Structures.Contains(one))
            {
                output.WriteLine($"Unknown structure '{one}'. Structures: {string.Join(", ", Structures)}.");
                return 2;
            }

            output.WriteLine(MeasureHere(one).ToString("F1", CultureInfo.InvariantCulture));
            return 0;
        }

        output.WriteLine($"Single-threaded random reads, 1M entries (10,000 x 100), one structure per process; median ns per read of rounds {WarmupRounds + 1}-{Rounds}, per launch:");
        var results = Structures.ToDictionary(s => s, _ => new List<double>());
        for (var launch = 0; launch < Launches; launch++)
        {
            foreach (var structure in Structures)
            {
                results[structure].Add(MeasureInChild(structure));
            }
        }

        output.WriteLine("| structure | launches (ns per read) |");
        output.WriteLine("|---|---|");
        foreach (var (structure, times) in results)
        {
            output.WriteLine($"| {structure} | {string.Join(", ", times.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))} |");
        }

        return 0;
    }

    private static double MeasureInChild(string structure)
    {
        // Under `dotnet run` the process is the app host; under `dotnet NestMap.Benchmarks.dll` it is dotnet itself.
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ReadLoopMeasurement).Assembly.Location);
        }

        start.ArgumentList.Add("read-loop");
        start.ArgumentList.Add(structure);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("The child process did not start.");
        var text = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        return child.ExitCode == 0
            ? double.Parse(text.Trim(), CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"read-loop {structure} failed with exit code {child.ExitCode}: {text}");
    }

    private static double MeasureHere(string structure)
    {
        var keys = new KeySpace(outers: 10_000, innersPerOuter: 100, operations: 1 << 17, writeFraction: 0);
        var value = new object();
        Func<long> read;
        if (structure.StartsWith("nested", StringComparison.Ordinal))
        {
            var nested = new ConcurrentDictionary<long, ConcurrentDictionary<long, object>>();
            keys.ForEachPair((o, i) => nested.GetOrAdd(o, _ => new ConcurrentDictionary<long, object>())[i] = value);
            read = structure switch
            {
                "nested+tickcount" => () => ReadNestedWithClock<TickCount>(nested, keys.OpOuter, keys.OpInner),
                "nested+timestamp" => () => ReadNestedWithClock<Timestamp>(nested, keys.OpOuter, keys.OpInner),
                _ => () => ReadNested(nested, keys.OpOuter, keys.OpInner),
            };
        }
        else
        {
            var map = new ConcurrentNestedMap<long, long, object>(new NestedMapOptions<long, long, object>
            {
                ExpireAfterWrite = structure == "map-ttl" ? TimeSpan.FromHours(1) : null,
            });
            keys.ForEachPair((o, i) => map.Set(o, i, value));
            read = () => ReadMap(map, keys.OpOuter, keys.OpInner);
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var times = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var start = TimeProvider.System.GetTimestamp();
            var hits = read();
            var elapsed = TimeProvider.System.GetElapsedTime(start);
            if (hits != keys.OpOuter.Length)
            {
                throw new InvalidOperationException($"{structure}: {keys.OpOuter.Length - hits} reads missed.");
            }

            if (round >= WarmupRounds)
            {
                times.Add(elapsed.TotalNanoseconds / keys.OpOuter.Length);
            }
        }

        times.Sort();
        return times[times.Count / 2];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long ReadNested(ConcurrentDictionary<long, ConcurrentDictionary<long, object>> map, long[] outer, long[] inner)
    {
        long hits = 0;
        for (var k = 0; k < outer.Length; k++)
        {
            if (map.TryGetValue(outer[k], out var innerMap) && innerMap.TryGetValue(inner[k], out _))
            {
                hits++;
            }
        }

        return hits;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long ReadNestedWithClock<TClock>(ConcurrentDictionary<long, ConcurrentDictionary<long, object>> map, long[] outer, long[] inner)
        where TClock : struct, IClock
    {
        long hits = 0, sum = 0;
        for (var k = 0; k < outer.Length; k++)
        {
            if (map.TryGetValue(outer[k], out var innerMap) && innerMap.TryGetValue(inner[k], out _))
            {
                hits++;
                sum += TClock.Read();
            }
        }

        // The sum is used so that the clock reads cannot be dropped; it never equals -1.
        return sum == -1 ? 0 : hits;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long ReadMap(ConcurrentNestedMap<long, long, object> map, long[] outer, long[] inner)
    {
        long hits = 0;
        for (var k = 0; k < outer.Length; k++)
        {
            if (map.TryGetValue(outer[k], inner[k], out _))
            {
                hits++;
            }
        }

        return hits;
    }

    /// <summary>A clock read, as a type so that the JIT compiles one loop per clock with no branch between them.</summary>
    private interface IClock
    {
        static abstract long Read();
    }

    /// <summary>The coarse clock <c>CoarseClock</c> reads on a timed read.</summary>
    private readonly struct TickCount : IClock
    {
#pragma warning disable RS0030 // the clock CoarseClock reads is what is measured here
        public static long Read() => Environment.TickCount64;
#pragma warning restore RS0030
    }

    /// <summary>The precise clock (Stopwatch's timestamp).</summary>
    private readonly struct Timestamp : IClock
    {
        public static long Read() => TimeProvider.System.GetTimestamp();
    }
}
