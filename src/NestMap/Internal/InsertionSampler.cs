using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;

namespace NestMap.Internal;

/// <summary>
/// Records where sampled inserts came from: about one insert in <see cref="Rate"/> per thread captures the first stack
/// frame outside NestMap, and the entry it made, in a bounded table.
/// </summary>
/// <remarks>
/// <para>
/// Cost: when off, nothing (the map holds no sampler). When on, a per-thread countdown per insert; a sampled insert
/// captures a stack trace without file information (a few microseconds) outside every lock. The file and line of a
/// site are looked up once per process, the first time the site is seen by any map, and cached by method and IL
/// offset in <see cref="InsertionSites"/>.
/// </para>
/// <para>
/// Bound: at most <see cref="Capacity"/> samples. When full, samples whose entry is gone are dropped first; if none
/// is, a random sample is replaced, so the table stays a uniform sample of the sampled inserts. A sample is resident
/// while its key is present and unexpired (resizes copy nodes, so keys, not nodes, identify entries; a key removed and
/// added again by a write that was not sampled counts from its sampled insert).
/// </para>
/// <para>Thread-safe: samples are added under a lock taken only by sampled inserts and reports.</para>
/// </remarks>
internal sealed class InsertionSampler<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>The most samples kept.</summary>
    public const int Capacity = 4_096;

    private static readonly Assembly NestMapAssembly = typeof(InsertionSampler<,,>).Assembly;

    [ThreadStatic]
    private static int s_countdown;

    private readonly List<Sample> _samples = new(Capacity);
    private readonly Lock _lock = new();
    private long _sampled;
    private int _recordsSincePrune;

    public InsertionSampler(int rate) => Rate = rate;

    /// <summary>Gets the sampling rate: about one insert in this many is sampled.</summary>
    public int Rate { get; }

    /// <summary>Gets how many inserts were sampled in all.</summary>
    public long Sampled => Interlocked.Read(ref _sampled);

    /// <summary>Decides whether this insert is sampled; if so, returns where it came from (call it before taking locks).</summary>
    public string? SiteIfSampled()
    {
        // The countdown is per thread and shared by all samplers of this map type: a sampler with rate 1 samples
        // every insert without consulting it, so that the tables of two maps never shift each other's phase.
        if (Rate == 1)
        {
            return CurrentSite();
        }

        if (--s_countdown > 0)
        {
            return null;
        }

        // A random countdown with mean Rate, so that a workload with a period cannot line up with the sampler.
        s_countdown = Random.Shared.Next(1, (int)Math.Min((2L * Rate) + 1, int.MaxValue));
        return CurrentSite();
    }

    /// <summary>Keeps a sample of an insert that landed.</summary>
    public void Record(TOuter outer, TInner inner, string site, long insertedAt, Func<TOuter, TInner, bool> isResident)
    {
        Interlocked.Increment(ref _sampled);
        var sample = new Sample(outer, inner, site, insertedAt);
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

    /// <summary>A sampled insert: its keys, where it came from and when.</summary>
    internal sealed record Sample(TOuter Outer, TInner Inner, string Site, long InsertedAt);
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

