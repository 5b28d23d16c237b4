using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NestMap.Cli.Demo;

/// <summary>One scenario of the leak demo, run in its own process: the workload, and a sampler every 10 ms.</summary>
internal static class LeakScenario
{
    /// <summary>The prefix of the one stdout line that carries the result to the parent process.</summary>
    public const string ResultPrefix = "RESULT ";

    /// <summary>The CSV header of the samples (without the scenario column the parent adds).</summary>
    public const string CsvHeader = "t_s,heap_bytes,rss_bytes,gen0,gen1,gen2,allocated_bytes,entries,inner_maps";

    private static readonly TimeSpan SamplePeriod = TimeSpan.FromMilliseconds(10);

    /// <summary>Runs the scenario, writes its samples to <paramref name="csv"/> and prints its result line.</summary>
    public static async Task<int> RunChildAsync(LeakScenarioKind kind, LeakSettings settings, FileInfo csv, CancellationToken cancellation)
    {
        if (settings.Validate() is { } problem)
        {
            await Console.Error.WriteLineAsync(problem);
            return 2;
        }

        var time = TimeProvider.System;
        using var store = SessionStore.Create(kind, settings);
        var samples = new List<string>(settings.Seconds * 110);
        var start = time.GetTimestamp();
        using var stopSampling = new CancellationTokenSource();
        var sampler = SampleAsync(store, time, start, samples, stopSampling.Token);

        await RunWorkloadAsync(store, settings, time, cancellation);

        await stopSampling.CancelAsync();
        await sampler;
        samples.Add(Sample(store, time, start));

        await File.WriteAllTextAsync(csv.FullName, CsvHeader + "\n" + string.Join("\n", samples) + "\n", cancellation);
        var memory = GC.GetGCMemoryInfo();
        var result = new LeakResult(
            kind.ToString(),
            memory.HeapSizeBytes,
            Environment.WorkingSet,
            store.Entries,
            store.InnerMaps,
            store.CountEmptyInnerMaps(),
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            GC.GetTotalAllocatedBytes(precise: false),
            (long)settings.Seconds * settings.Rate);
        Console.WriteLine(ResultPrefix + JsonSerializer.Serialize(result, LeakJsonContext.Default.LeakResult));
        return 0;
    }

    /// <summary>
    /// Sessions are signed in under tenants (50 per tenant: tenants come and go), each is touched by a later request,
    /// and then abandoned: nobody signs out. Even writes sign a session in, odd writes touch the session signed in
    /// ten before; the second scenario's code also removes the session that has reached the TTL's age, as an
    /// application would that cleans up by hand. Writes are paced to the rate, in bursts every millisecond.
    /// </summary>
    private static async Task RunWorkloadAsync(SessionStore store, LeakSettings settings, TimeProvider time, CancellationToken cancellation)
    {
        var total = (long)settings.Seconds * settings.Rate;
        var lifetimeInSessions = (long)(settings.TtlSeconds * settings.Rate / 2);
        var start = time.GetTimestamp();
        for (long n = 0; n < total;)
        {
            var due = Math.Min(total, (long)(time.GetElapsedTime(start).TotalSeconds * settings.Rate));
            var now = time.GetUtcNow();
            for (; n < due; n++)
            {
                var session = n / 2;
                if (n % 2 == 0)
                {
                    store.SignIn(Tenant(session), Session(session), new Session(session, now));
                }
                else if (session >= 10)
                {
                    store.Touch(Tenant(session - 10), Session(session - 10), now);
                    if (session >= lifetimeInSessions)
                    {
                        store.RemoveExpired(Tenant(session - lifetimeInSessions), Session(session - lifetimeInSessions));
                    }
                }
            }

            if (n < total)
            {
                await Task.Delay(1, cancellation);
            }
        }
    }

    private static string Tenant(long session) => string.Create(CultureInfo.InvariantCulture, $"tenant-{session / LeakSettings.SessionsPerTenant}");

    private static string Session(long session) => string.Create(CultureInfo.InvariantCulture, $"session-{session}");

    private static async Task SampleAsync(SessionStore store, TimeProvider time, long start, List<string> samples, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(SamplePeriod, time);
        try
        {
            do
            {
                samples.Add(Sample(store, time, start));
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
            // The workload ended.
        }
    }

    /// <summary>
    /// One sample: the managed heap as the last GC left it (the workload's own collections; the sampler forces none),
    /// the resident set, GC counts and bytes allocated so far: the .NET counterparts of Go's HeapInuse, NumGC and
    /// Mallocs.
    /// </summary>
    private static string Sample(SessionStore store, TimeProvider time, long start)
    {
        var memory = GC.GetGCMemoryInfo();
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{time.GetElapsedTime(start).TotalSeconds:F3},{memory.HeapSizeBytes},{Environment.WorkingSet},");
        line.Append(CultureInfo.InvariantCulture, $"{GC.CollectionCount(0)},{GC.CollectionCount(1)},{GC.CollectionCount(2)},{GC.GetTotalAllocatedBytes(precise: false)},");
        line.Append(CultureInfo.InvariantCulture, $"{store.Entries},{store.InnerMaps}");
        return line.ToString();
    }
}
