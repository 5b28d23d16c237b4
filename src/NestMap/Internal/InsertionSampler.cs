using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Reflection;
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
/// 20 microseconds in a tight loop, but 50 to 200 inside a process whose own work keeps the caches busy, as inserts
/// into a large map do (the walker's tables are cold by the next sample), growing with the stack's depth. The file and
/// line of a site are looked up once per process, the first time the site is seen by any map, and cached by method
/// and IL offset in <see cref="InsertionSites"/>.
/// </para>
/// <para>
/// Time budget: each thread keeps, per map, moving averages of the time between its sampling points and of what its
/// captures cost, and captures at a sampling point with probability
/// <c>p = min(1, <see cref="TimeBudget"/> × gap / cost)</c> (at least 0.001), so that one map's captures take about
/// that share of a thread's time however deep its stacks (k sampled maps on one thread: k times that). A kept sample
/// weighs <c>Rate / p</c> inserts. Since <c>p</c> is fixed before the site is known, every sampling point counts
/// <c>Rate</c> in expectation whichever code reached it, so estimates and shares stay unbiased however a thread
/// mixes bursts and pauses. Points not captured are counted (<see cref="Skipped"/>). Rate 1 (every insert, for tests
/// and debugging) has no budget. Time is read through the map's <see cref="TimeProvider"/>: under a fake clock that
/// stands still, captures cost nothing and every point is captured.
/// </para>
/// <para>
/// Bound: at most <see cref="Capacity"/> samples. When full, samples whose entry is gone are dropped (at most once per
/// half table of new samples); if it is still full, the table is thinned: each sample stays with probability 1/2 and
/// its weight doubles, and new samples are kept with the same probability from then on, so the table stays an
/// unbiased sample of old and new inserts alike. A sample is resident while its key is present and unexpired (resizes
/// copy nodes, so keys, not nodes, identify entries; a key removed and added again by a write that was not sampled
/// counts from its sampled insert, which over-counts keys that come back and ages them from their first insert).
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

    /// <summary>
    /// The share of a thread's time one map's stack captures may take: 1%. A capture also slows the code after it (it
    /// evicts that code's data from the caches) by about as much again, which its measured time does not include.
    /// </summary>
    public const double TimeBudget = 0.01;

    /// <summary>The highest rate this sampler takes: its countdown is an int with mean Rate.</summary>
    public const int MaxRate = 1 << 30;

    /// <summary>The lowest keep probability (bounds a kept sample's weight at 1,000 × Rate).</summary>
    private const double MinimumKeep = 0.001;

    /// <summary>An average capture cost, in ticks, below which captures count as free.</summary>
    private const double Negligible = 1e-6;

    private static readonly Assembly NestMapAssembly = typeof(InsertionSampler<,,>).Assembly;

    private readonly List<Sample> _samples = new(Capacity);
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    /// <summary>Whether sampling points read the coarse clock (see <see cref="PointTime"/>).</summary>
    private readonly bool _coarse;

    /// <summary>Per thread: how often it reaches this map's sampling points and what its captures cost.</summary>
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

    /// <summary>One in how many new samples the table keeps (doubles each time a full table is thinned); guarded by the lock.</summary>
    private long _keepOneIn = 1;

    public InsertionSampler(int rate, TimeProvider time)
    {
        Rate = rate;
        _time = time;
        _coarse = ReferenceEquals(time, TimeProvider.System);
        // At least 16 stripes: in a container, processor numbers may exceed the processor count the runtime reports.
        _countdowns = new PaddedCountdown[BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, Environment.ProcessorCount))];
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

    /// <summary>Gets how many sampling points were not captured, to keep captures within their time budget.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>
    /// Decides whether this insert is sampled; if so, returns where it came from and how many inserts it stands for
    /// (call it before taking locks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public string? SiteIfSampled(out double weight)
    {
        // Race resolved here (by tolerating it): the countdowns are per map and striped by processor, so threads on
        // different processors rarely write the same cache line. Two threads that share a stripe (one migrated, or a
        // container whose processor numbers exceed its processor count) may lose a decrement or overwrite each
        // other's new countdown; that moves the next sampling point by up to 2 x Rate inserts and biases nothing,
        // because the countdown never depends on which code is inserting. Rate 1 samples every insert without one.
        if (Rate != 1)
        {
            ref int countdown = ref _countdowns[Thread.GetCurrentProcessorId() & _stripeMask].Value;
            if (--countdown > 0)
            {
                weight = 0;
                return null;
            }

            countdown = NextCountdown();
        }

        return SampleNow(out weight);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private string? SampleNow(out double weight)
    {
        if (Rate == 1)
        {
            weight = 1;
            return CurrentSite();
        }

        // The time budget, as a probability decided before the site is known: keep this point with probability p,
        // chosen so that (points per tick) x p x (ticks per capture) stays at the budget, and weigh a kept point
        // Rate / p. Every point then counts Rate in expectation whatever code inserted it and however its thread
        // mixes bursts and pauses, so estimates and shares stay unbiased (a Horvitz-Thompson estimate).
        var state = _threadState.Value!;
        var now = PointTime();

        if (state.LastPoint is { } last)
        {
            state.AverageGap += ((now - last) - state.AverageGap) / 8;
        }

        state.LastPoint = now;

        // Averages that decayed to nothing (a clock that stands still) mean captures cost nothing: keep everything.
        var keep = state.AverageCost <= Negligible ? 1 : Math.Clamp(TimeBudget * state.AverageGap / state.AverageCost, MinimumKeep, 1);
        if (keep < 1 && Random.Shared.NextDouble() >= keep)
        {
            Interlocked.Increment(ref _skipped);
            weight = 0;
            return null;
        }

        var pausedBefore = GC.GetTotalPauseDuration();
        var start = _coarse ? _time.GetTimestamp() : now;
        var site = CurrentSite();
        var end = _time.GetTimestamp();

        // A collection that falls into the capture (its allocations may trigger one) is not the capture's own cost,
        // so its pause is taken out. The pause is real time; with a fake clock the result is clamped at zero.
        var gcTicks = (GC.GetTotalPauseDuration() - pausedBefore).TotalSeconds * _time.TimestampFrequency;
        var cost = Math.Max(0, end - start - gcTicks);
        state.AverageCost = state.AverageCost <= Negligible ? cost : state.AverageCost + ((cost - state.AverageCost) / 8);
        weight = Rate / keep;
        return site;
    }

    /// <summary>
    /// The time of a sampling point. On the system clock, the coarse one: a precise read waits behind a fence for the
    /// inserting code's outstanding cache misses (hundreds of nanoseconds in a large map, measured: at one point in 100
    /// inserts that alone cost 3-5% of insert time), and the gaps between points only feed an average, where the
    /// coarse clock's lag cancels out. Other providers (fake clocks in tests) are read as they are.
    /// </summary>
    private long PointTime() => _coarse ? CoarseClock.CoarseTimestamp : _time.GetTimestamp();

    /// <summary>Keeps a sample of an insert that landed.</summary>
    public void Record(TOuter outer, TInner inner, string site, double weight, long insertedAt, Func<TOuter, TInner, bool> isResident)
    {
        Interlocked.Increment(ref _sampled);
        lock (_lock)
        {
            _recordsSincePrune++;
            if (_samples.Count >= Capacity)
            {
                // Full: drop the samples whose entry is gone, at most once per half table of sampled inserts, so the
                // walk of the table stays amortised even when every sampled entry is still there.
                if (_recordsSincePrune >= Capacity / 2)
                {
                    _recordsSincePrune = 0;
                    _samples.RemoveAll(s => !isResident(s.Outer, s.Inner));
                }

                // Still full: thin the table. Each sample stays with probability 1/2 and weighs twice as much, and new
                // samples are kept with the same probability from now on, so old and new inserts stay equally
                // represented (replacing a random slot, as a first version did, let old entries fade out of a report
                // whose point is to find them).
                if (_samples.Count >= Capacity)
                {
                    _keepOneIn *= 2;
                    _samples.RemoveAll(_ => Random.Shared.Next(2) == 0);
                    for (int i = 0; i < _samples.Count; i++)
                    {
                        _samples[i] = _samples[i] with { Weight = _samples[i].Weight * 2 };
                    }
                }
            }

            if (_keepOneIn == 1 || Random.Shared.NextInt64(_keepOneIn) == 0)
            {
                _samples.Add(new Sample(outer, inner, site, weight * _keepOneIn, insertedAt));
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

    /// <summary>
    /// A random countdown, geometric with mean Rate: memoryless, so every write has exactly a 1 in Rate chance of being
    /// a sampling point, from the first one on (a uniform countdown undersampled a map's first Rate writes), and a
    /// workload with a period cannot line up with the sampler.
    /// </summary>
    private int NextCountdown()
    {
        var uniform = 1 - Random.Shared.NextDouble(); // in (0, 1]
        var draw = 1 + Math.Floor(Math.Log(uniform) / Math.Log(1 - (1.0 / Rate)));
        return (int)Math.Min(draw, int.MaxValue);
    }

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

    /// <summary>A thread's sampling state for one map: how often it reaches sampling points, and what a capture costs.</summary>
    private sealed class ThreadState
    {
        /// <summary>When the thread last reached a sampling point of this map.</summary>
        public long? LastPoint;

        /// <summary>The moving average of the time between its sampling points, in timestamp ticks.</summary>
        public double AverageGap;

        /// <summary>The moving average of what its captures cost, in ticks; 0 before the first.</summary>
        public double AverageCost;
    }

    /// <summary>A sampled insert: its keys, where it came from, how many inserts it stands for, and when.</summary>
    internal sealed record Sample(TOuter Outer, TInner Inner, string Site, double Weight, long InsertedAt);
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
