using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NestMap.Internal;

/// <summary>
/// Records where sampled inserts came from: about one insert in <see cref="Rate"/> captures the first stack frame
/// outside NestMap, and the entry it made, in a bounded table.
/// </summary>
/// <remarks>
/// <para>
/// Cost: when off, nothing (the map holds no sampler). When on, one decrement of a countdown per insert (the map's own,
/// striped by processor); a sampled insert captures a stack trace without file information outside every lock. A
/// capture walks the whole stack (the runtime has no partial walk) and resolves the frames' methods: measured at 5 to
/// 20 microseconds in a tight loop, but 50 to 120 inside a process whose own work keeps the caches busy, as inserts
/// into a large map do (the walker's tables are cold by the next sample), growing with the stack's depth. The file and line of a site are looked up once per process, the first
/// time the site is seen by any map, and cached by method and IL offset in <see cref="InsertionSites"/>.
/// </para>
/// <para>
/// Time budget: after a capture that took <c>c</c>, the same thread captures again no sooner than
/// <c>c × (1 / <see cref="TimeBudget"/> − 1)</c> later for this map, so one map's captures never take more than that share
/// of a thread's time, however deep its stacks. A sampling point that falls inside that pause is skipped and counted; the
/// next kept sample of the same thread and map stands for it too (its <see cref="Sample.Weight"/> grows), so estimates
/// and shares stay unbiased when the budget bites harder on one code path than another. Rate 1 (every insert, for
/// tests and debugging) has no budget. Time is read through the map's <see cref="TimeProvider"/>.
/// </para>
/// <para>
/// Bound: at most <see cref="Capacity"/> samples. When full, samples whose entry is gone are dropped first; if none
/// is, a random sample is replaced, so the table stays a uniform sample of the sampled inserts. A sample is resident
/// while its key is present and unexpired (resizes copy nodes, so keys, not nodes, identify entries; a key removed and
/// added again by a write that was not sampled counts from its sampled insert).
/// </para>
/// <para>Thread-safe: samples are added under a lock taken only by sampled inserts and reports.</para>
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "The map's writes go on after Dispose, so the thread-local state must outlive it; its finalizer frees the slots.")]
internal sealed class InsertionSampler<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>The most samples kept.</summary>
    public const int Capacity = 4_096;

    /// <summary>The most of a thread's time one map's stack captures may take: 2%.</summary>
    public const double TimeBudget = 0.02;

    /// <summary>How much longer than a capture took the thread waits before its next one for the map: 1 / budget − 1.</summary>
    private const long PauseFactor = 49;

    private static readonly Assembly NestMapAssembly = typeof(InsertionSampler<,,>).Assembly;

    private readonly List<Sample> _samples = new(Capacity);
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    /// <summary>Per thread: this map's time budget and the sampling points it skipped since its last capture.</summary>
    /// <remarks>
    /// Per map, not per thread only, because maps may read different time providers. Not disposed with the map:
    /// writes go on after Dispose; its finalizer frees the slots.
    /// </remarks>
    private readonly ThreadLocal<ThreadState> _threadState = new(() => new ThreadState());
    /// <summary>Inserts left until the next sampling point, one countdown per processor stripe.</summary>
    private readonly PaddedCountdown[] _countdowns;
    private readonly int _stripeMask;
    private long _sampled;
    private long _skipped;
    private int _recordsSincePrune;

    public InsertionSampler(int rate, TimeProvider time)
    {
        Rate = rate;
        _time = time;
        _countdowns = new PaddedCountdown[BitOperations.RoundUpToPowerOf2((uint)Environment.ProcessorCount)];
        _stripeMask = _countdowns.Length - 1;
        for (var i = 0; i < _countdowns.Length; i++)
        {
            _countdowns[i].Value = NextCountdown();
        }
    }

    /// <summary>Gets the sampling rate: about one insert in this many is sampled.</summary>
    public int Rate { get; }

    /// <summary>Gets how many inserts were sampled in all.</summary>
    public long Sampled => Interlocked.Read(ref _sampled);

    /// <summary>Gets how many sampling points were skipped to keep captures within their time budget.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>
    /// Decides whether this insert is sampled; if so, returns where it came from and how many sampled inserts it stands
    /// for (call it before taking locks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public string? SiteIfSampled(out long weight)
    {
        // Race resolved here (by tolerating it): the countdowns are per map and striped by processor, so threads on
        // different processors never write the same cache line. Two threads that share a stripe (one migrated) may
        // lose a decrement or both see zero; either only moves one sampling point by an insert or two, which a
        // statistical sampler does not need to prevent. Rate 1 samples every insert without a countdown.
        if (Rate != 1 && --_countdowns[Thread.GetCurrentProcessorId() & _stripeMask].Value > 0)
        {
            weight = 0;
            return null;
        }

        return SampleNow(out weight);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string? SampleNow(out long weight)
    {
        if (Rate == 1)
        {
            weight = 1;
            return CurrentSite();
        }

        _countdowns[Thread.GetCurrentProcessorId() & _stripeMask].Value = NextCountdown();
        var state = _threadState.Value!;
        var start = _time.GetTimestamp();
        if (start < state.NotBefore)
        {
            state.Skipped++;
            Interlocked.Increment(ref _skipped);
            weight = 0;
            return null;
        }

        var pausedBefore = GC.GetTotalPauseDuration();
        var site = CurrentSite();
        var end = _time.GetTimestamp();

        // A collection that falls into the capture (its allocations may trigger one) is not the capture's own cost:
        // counting it would stop sampling for 49 GC pauses, so its pause is taken out (at least nothing is left).
        var gcTicks = (long)((GC.GetTotalPauseDuration() - pausedBefore).TotalSeconds * _time.TimestampFrequency);
        state.NotBefore = end + (Math.Max(0, end - start - gcTicks) * PauseFactor);
        weight = (state.Skipped + 1) * Rate;
        state.Skipped = 0;
        return site;
    }

    /// <summary>Keeps a sample of an insert that landed.</summary>
    public void Record(TOuter outer, TInner inner, string site, long weight, long insertedAt, Func<TOuter, TInner, bool> isResident)
    {
        Interlocked.Increment(ref _sampled);
        var sample = new Sample(outer, inner, site, weight, insertedAt);
        lock (_lock)
        {
            if (_samples.Count < Capacity)
            {
                _samples.Add(sample);
                return;
            }

            // Full: drop the samples whose entry is gone, at most once per half table of new samples, so the walk of the
            // table stays amortised even when every sampled entry is still there.
            if (++_recordsSincePrune >= Capacity / 2)
            {
                _recordsSincePrune = 0;
                _samples.RemoveAll(s => !isResident(s.Outer, s.Inner));
            }

            if (_samples.Count < Capacity)
            {
                _samples.Add(sample);
            }
            else
            {
                _samples[Random.Shared.Next(Capacity)] = sample;
            }
        }
    }

    /// <summary>Copies the samples (under the lock, so it is one instant's table).</summary>
    public Sample[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _samples];
        }
    }

    /// <summary>A random countdown, uniform in [1, 2 × Rate - 1] (mean Rate), so that a workload with a period cannot line up with the sampler.</summary>
    private int NextCountdown() => Random.Shared.Next(1, (int)Math.Min(2L * Rate, int.MaxValue));

    private static string Format(StackFrame frame, MethodBase method)
    {
        var name = $"{method.DeclaringType?.FullName ?? "?"}.{method.Name}";
        var file = frame.GetFileName();
        return file is null
            ? name
            : string.Create(CultureInfo.InvariantCulture, $"{name} ({Path.GetFileName(file)}:{frame.GetFileLineNumber()})");
    }

    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Diagnostics only: in a trimmed app a frame's method may be missing, which names the site '?' or skips the frame; nothing else depends on it.")]
    private static string CurrentSite()
    {
        var frames = new StackTrace(2, fNeedFileInfo: false).GetFrames();
        for (var i = 0; i < frames.Length; i++)
        {
            var method = frames[i].GetMethod();
            if (method is null || method.DeclaringType?.Assembly == NestMapAssembly)
            {
                continue;
            }

            var key = (method.MethodHandle.Value, frames[i].GetILOffset());
            if (InsertionSites.Known.TryGetValue(key, out var known))
            {
                return known;
            }

            if (InsertionSites.Known.Count >= InsertionSites.MaxSites)
            {
                return InsertionSites.OtherSites;
            }

            // First sighting in this process: take the same stack again with file information, once per site.
            var detailed = new StackTrace(2, fNeedFileInfo: true).GetFrames();
            var site = i < detailed.Length ? Format(detailed[i], method) : Format(frames[i], method);
            return InsertionSites.Known.GetOrAdd(key, site);
        }

        return "(no caller outside NestMap)";
    }

    /// <summary>A thread's sampling state for one map.</summary>
    private sealed class ThreadState
    {
        /// <summary>The timestamp before which the thread captures no stack for this map (its time budget).</summary>
        public long NotBefore;

        /// <summary>The sampling points skipped since the thread's last capture for this map.</summary>
        public long Skipped;
    }

    /// <summary>A sampled insert: its keys, where it came from, how many inserts it stands for, and when.</summary>
    internal sealed record Sample(TOuter Outer, TInner Inner, string Site, long Weight, long InsertedAt);
}

/// <summary>The names of insertion sites, shared by every map of the process (a site is a method and an IL offset).</summary>
internal static class InsertionSites
{
    /// <summary>The most distinct insertion sites named.</summary>
    public const int MaxSites = 1_024;

    /// <summary>The site name used once <see cref="MaxSites"/> sites are known.</summary>
    public const string OtherSites = "(other sites)";

    /// <summary>Gets the known sites: (method handle, IL offset) to "Type.Method (File.cs:line)".</summary>
    public static ConcurrentDictionary<(nint Method, int Offset), string> Known { get; } = new();
}

/// <summary>A countdown alone on its cache line (outside the generic sampler: generic types cannot have explicit layout).</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct PaddedCountdown
{
    [FieldOffset(0)]
    public int Value;
}
