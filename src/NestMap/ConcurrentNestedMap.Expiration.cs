using System.Diagnostics;
using System.Runtime.CompilerServices;
using NestMap.Internal;

namespace NestMap;

/// <content>
/// Expiry, bounds and incremental cleanup: deadlines on entries and outer keys, two timing wheels, maintenance slices
/// run by writers and by one timer, eviction, and the removal callback.
/// </content>
/// <remarks>
/// Lock order: an inner map's lock, then the wheel lock. Code holding the wheel lock that needs an inner map's lock
/// (the sweeper, eviction) only tries it (<see cref="Monitor.TryEnter(object)"/>) and passes over a busy map, so the
/// two orders can never deadlock. Maintenance and eviction run only on threads that hold no inner map's lock.
/// <para>
/// The clock is never read under a lock: a <see cref="TimeProvider"/> may run due timer callbacks inside
/// <see cref="TimeProvider.GetTimestamp"/> (<c>FakeTimeProvider</c> does), which would start a maintenance slice on a
/// thread that holds an inner map's lock, and monitors are re-entrant. Every operation reads the time first and passes
/// it down.
/// </para>
/// </remarks>
public sealed partial class ConcurrentNestedMap<TOuter, TInner, TValue> : IDisposable
{
    /// <summary>Guards both wheels and every node's wheel links (a moved map's nodes aside: see <see cref="KeepSlideAcrossResize"/>).</summary>
    private readonly object _wheelLock = new();

    /// <summary>Guards the timer's bookkeeping (<see cref="_timerSetFor"/>, <see cref="_timerApplying"/>, <see cref="_timerGeneration"/>); never held while the timer itself is called (see <see cref="SyncTimer"/>).</summary>
    private readonly object _timerLock = new();

    private readonly TimeProvider _time;

    /// <summary>The coarse clock that spares reads the precise one, when <see cref="_time"/> is <see cref="TimeProvider.System"/>.</summary>
    private readonly CoarseClock? _coarseClock;

    /// <summary><see cref="_coarseClock"/> when reads only check deadlines (nothing to slide), for the inlined fast check in FindNode.</summary>
    private readonly CoarseClock? _readClock;
    private readonly long _writeTtl;
    private readonly long _accessTtl;
    private readonly long _idleTtl;
    private readonly long? _maxEntries;
    private readonly int? _maxOuterKeys;
    private readonly int? _maxEntriesPerOuter;
    private readonly bool _evict;
    private readonly Action<NestedRemoval<TOuter, TInner, TValue>>? _onRemoved;
    private readonly int _maxRemovalsPerSlice;

    /// <summary>Whether every entry gets a timed node (a default TTL or an entry bound is set).</summary>
    private readonly bool _timesEntries;

    /// <summary>The wheel of the outer keys' idle nodes; <see langword="null"/> without idle expiry or an outer-key bound.</summary>
    private readonly TimerWheel<TOuter, TInner, TValue>? _outerWheel;

    /// <summary>The wheel of timed entries; made on first need when only per-call TTLs are used.</summary>
    private volatile TimerWheel<TOuter, TInner, TValue>? _entryWheel;

    /// <summary>The earliest time maintenance has work (timestamp); <see cref="long.MaxValue"/> when none. Written under the wheel lock.</summary>
    private long _nextDue = long.MaxValue;

    /// <summary>A <see cref="_timerSetFor"/> that matches no due time: the timer is not armed.</summary>
    private const long TimerNotArmed = long.MinValue;

    /// <summary>The due time the timer is set for (<see cref="long.MaxValue"/>: stopped; <see cref="TimerNotArmed"/>: fired); written under the timer lock.</summary>
    private long _timerSetFor = long.MaxValue;

    /// <summary>Whether a thread is changing the timer (outside the timer lock); only that thread calls <see cref="ITimer.Change"/>. Under the timer lock.</summary>
    private bool _timerApplying;

    /// <summary>Bumped, under the timer lock, whenever the timer may need another change while one is being applied (a new request, a firing).</summary>
    private long _timerGeneration;
    private ITimer? _timer;
    private bool _disposed;
    private int _maintaining;
    private int _continuationQueued;
    private long _callbackFailures;
    private long _maintenanceFailures;
    private int _largestSlice;

    /// <summary>The outcome of <see cref="WriteCore"/>.</summary>
    private enum WriteOutcome
    {
        Added,
        Existing,
        Refused,
    }

    /// <summary>Gets how many times <see cref="NestedMapOptions{TOuter, TInner, TValue}.OnRemoved"/> threw; each was caught and the map went on.</summary>
    public long RemovalCallbackFailures => Interlocked.Read(ref _callbackFailures);

    /// <summary>Gets the most entries one maintenance slice has removed so far (for the tests of the slice bound).</summary>
    internal int LargestSlice => Volatile.Read(ref _largestSlice);

    /// <summary>Gets how many maintenance slices have thrown so far (for the tests; the integrity check reports it too).</summary>
    internal long MaintenanceFailures => Interlocked.Read(ref _maintenanceFailures);

    /// <summary>Stops the expiry timer and takes the map out of the <c>NestMap</c> metrics. The map stays usable: expired entries are still never returned, and writes still clean up.</summary>
    /// <remarks>Thread-safe. A map that is not disposed does not leak: the timer and the metrics hold it weakly, so an unreferenced map is collected.</remarks>
    public void Dispose()
    {
        NestedMapMetrics.Unregister(_metricsId);
        lock (_timerLock)
        {
            _disposed = true;
            _timer?.Dispose();
            _timer = null;
        }
    }

    /// <summary>
    /// Runs one maintenance slice now: removes entries and outer keys whose deadline has passed, at most
    /// <see cref="NestedMapOptions{TOuter, TInner, TValue}.MaxRemovalsPerSlice"/> of them (an outer key goes whole),
    /// and leaves the rest for later slices.
    /// </summary>
    /// <param name="waitForRunning">
    /// Whether to wait for a slice that another thread (the timer, the thread pool) is running and then run one, rather
    /// than return 0 at once. Tests that drain a map at quiescence need it: a background slice may have read the clock
    /// before the test moved it, and finishes without seeing what is due now (its follow-up runs later, on the pool).
    /// Never wait from inside a slice (a removal callback): it would wait for itself.
    /// </param>
    /// <returns>The number of entries removed; 0 also when another thread is running a slice (unless <paramref name="waitForRunning"/>).</returns>
    /// <remarks>
    /// A slice that throws (a defect, a time provider that throws, out of memory; removal callbacks are caught
    /// already) is counted in the integrity check's failure count, reports what it did remove, schedules a retry one
    /// wheel tick later and re-arms the timer, then lets the exception go on to its caller.
    /// </remarks>
    internal int RunMaintenanceSlice(bool waitForRunning = false)
    {
        if (_entryWheel is null && _outerWheel is null)
        {
            return 0;
        }

        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref _maintaining, 1, 0) != 0)
        {
            if (!waitForRunning)
            {
                return 0;
            }

            spin.SpinOnce();
        }

        List<NestedRemoval<TOuter, TInner, TValue>>? removals = null;
        var removed = 0;
        var backlog = false;
        var measured = NestedMapMetrics.SliceDurationEnabled;
        long started = 0, now = 0;
        var clockRead = false;
        try
        {
            started = measured ? _time.GetTimestamp() : 0;

            // Read the clock before taking a lock: a time provider may run due timer callbacks inside GetTimestamp
            // (FakeTimeProvider does), and that callback must not find this thread holding the map's locks.
            now = _time.GetTimestamp();
            clockRead = true;
            lock (_wheelLock)
            {
                if (_entryWheel is { } entries)
                {
                    removed += Sweep_NeedsWheelLock(entries, outerKeys: false, now, _maxRemovalsPerSlice, ref removals);
                }

                if (_outerWheel is { } outers)
                {
                    removed += Sweep_NeedsWheelLock(outers, outerKeys: true, now, _maxRemovalsPerSlice - removed, ref removals);
                }

                backlog = (_entryWheel?.HasBacklog ?? false) || (_outerWheel?.HasBacklog ?? false);
                Volatile.Write(ref _nextDue, backlog ? now : Min(_entryWheel?.NextDue(), _outerWheel?.NextDue()) ?? long.MaxValue);
                if (removed > _largestSlice)
                {
                    Volatile.Write(ref _largestSlice, removed);
                }
            }
        }
        catch
        {
            // The slice stopped part way: _nextDue may still be the past time that started it (the timer would fire
            // at once, forever, if the failure repeats) or may be missing work left in the wheel. Retry one tick
            // later; the finally below re-arms the timer for that, so an idle map does not stop expiring.
            Interlocked.Increment(ref _maintenanceFailures);
            lock (_wheelLock)
            {
                var wheel = (_entryWheel ?? _outerWheel)!;
                Volatile.Write(ref _nextDue, (clockRead ? Math.Max(now, wheel.Time) : wheel.Time) + wheel.TickSpan);
            }

            backlog = false;
            throw;
        }
        finally
        {
            Volatile.Write(ref _maintaining, 0);

            // The removals made before a failure happened: they are reported either way (Notify catches callbacks).
            Notify(removals);
            if (backlog)
            {
                // The rest of the backlog goes in later slices, on the thread pool: each slice holds the wheel lock for
                // a bounded time, so writers get in between.
                QueueContinuation();
            }

            SyncTimer();
        }

        if (measured)
        {
            NestedMapMetrics.RecordSlice(_name, _time.GetElapsedTime(started));
        }

        return removed;
    }

    /// <summary>The timer fired: it is no longer armed, whatever it was set for; then a slice runs.</summary>
    /// <remarks>
    /// Race resolved here: a timer may fire a little before the timestamp it was set for (system timers count whole
    /// milliseconds), so the slice can find nothing due yet and compute the same next due time again. Were the timer
    /// still recorded as set for that time, it would not be re-armed, and an idle map would stop expiring.
    /// </remarks>
    private void OnTimerFired()
    {
        lock (_timerLock)
        {
            _timerSetFor = TimerNotArmed;
            _timerGeneration++; // a change being applied right now looks again (see SyncTimer)
        }

        RunMaintenanceInBackground();
    }

    /// <summary>Runs a slice for the timer or the thread pool, where an exception would end the process: it stops here instead.</summary>
    /// <remarks>
    /// Nothing in a slice is expected to throw (callback exceptions are already caught); this is the last line for a
    /// defect. <see cref="RunMaintenanceSlice"/> has already counted the failure (the count is part of the integrity
    /// check, so tests see it) and re-armed the timer for a retry.
    /// </remarks>
    private void RunMaintenanceInBackground()
    {
        try
        {
            RunMaintenanceSlice();
        }
#pragma warning disable CA1031 // A background thread has no caller to report to; the failure is counted (see remarks).
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    /// <summary>Moves a sliding deadline later when that moves it by at least <paramref name="threshold"/>; returns whether it stored.</summary>
    private static bool Slide(InnerMap<TOuter, TInner, TValue>.TimedNode node, long deadline, long threshold) => Slide(node, deadline, threshold, out _);

    /// <inheritdoc cref="Slide(InnerMap{TOuter, TInner, TValue}.TimedNode, long, long)"/>
    /// <param name="node">The node.</param>
    /// <param name="deadline">The new deadline.</param>
    /// <param name="threshold">How far it must move.</param>
    /// <param name="version">The entry's version when the deadline was stored (see <see cref="KeepSlideAcrossResize"/>).</param>
    private static bool Slide(InnerMap<TOuter, TInner, TValue>.TimedNode node, long deadline, long threshold, out int version)
    {
        // Race: readers slide without a lock, and a writer may set the deadline under the map's lock at the same time.
        // The store is a compare-and-swap from the deadline this read saw: two readers that both saw the old deadline
        // cannot have the earlier one (a thread delayed between reading the clock and storing) overwrite the later
        // one's extension (found by the systematic test SlidingReads_OfTwoReaders_KeepTheLaterExtension); a read that
        // loses looks again and stores only if it still moves the deadline on by the threshold. A writer's deadline set
        // after this read saw the old one makes the swap fail the same way, so the read then extends the writer's
        // deadline or leaves it. A deadline only ever moves later here, so the wheel's bucket stays at or before it,
        // and the sweeper refiles the node when it meets it early. An entry read in the same instant the sweeper
        // removes it at its deadline is gone: the read returned it, and the removal is ordered after that read.
        var current = Volatile.Read(ref node.Deadline);
        while (current < InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline && deadline - current >= threshold)
        {
            // Writers bump the version before they store a deadline: read after the deadline we saw, it is at least
            // the version of the write that stored it.
            version = Volatile.Read(ref node.Version);
            var seen = Interlocked.CompareExchange(ref node.Deadline, deadline, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        version = 0;
        return false;
    }

    /// <summary>After a lock-free read slid <paramref name="node"/> to <paramref name="deadline"/>, makes sure a resize of <paramref name="map"/> did not drop the new deadline.</summary>
    /// <remarks>
    /// Race resolved here (found by the systematic test SlidingRead_VersusResize_KeepsTheReadsExtension): a resize
    /// copies every timed node with its deadline under the map's lock, and a read that found the old node slides it
    /// without one; a store landing after the copy was made would be lost with the old node, and the entry would
    /// expire a window after an earlier access. Both sides store, fence, then load: the resize marks the old map moved
    /// and then takes each original's deadline into its copy if later (<see cref="InnerMap{TOuter, TInner, TValue}.MarkMoved_NeedsLock"/>),
    /// and the reader stored its deadline and then reads the state. With a full fence between the store and the load on
    /// each side, at least one sees the other's store: either the resize takes our deadline, or we see the map moved
    /// and carry the deadline to the node's copy (and check that one the same way, across further resizes).
    /// <para>
    /// The carry waits for the resize to finish (it takes the moved map's lock, which the resize holds from the copy
    /// to the mark: the only lock a read ever takes, on this rare path), then follows the link from the node to the
    /// copy made from it (<see cref="InnerMap{TOuter, TInner, TValue}.MarkMoved_NeedsLock"/> leaves it in the node's
    /// free wheel slot), and moves the copy's deadline later by compare-and-swap while the copy's version is still
    /// <paramref name="version"/>, the entry's version when the read stored its deadline. A copy keeps its original's
    /// version and writers bump it before storing a deadline, so a changed version means a write since, whose deadline
    /// stands; the link, not a lookup by key, means a removed and re-added entry (a new node, at version 0 again) is
    /// never extended by a read of the old one. Moving only later, the carries of reads racing each other and the
    /// resize all leave the latest deadline, in any order (the systematic tests TwoSlidingReads_VersusResize,
    /// SlidingReads_OfTheOldAndTheNewMap and SlidingReads_AcrossTwoResizes). A read that saw a write's version but
    /// swapped before the write stored its deadline carries its own deadline over the write's through a resize, where
    /// without one the write's would stand: it read the new value, so it counts as a read after the write. Left: a
    /// writer that stores exactly the deadline a carry just read, between its read and its swap, is overwritten (value
    /// ABA). This runs only when a read stored a deadline on a map being replaced.
    /// </para>
    /// </remarks>
    private static void KeepSlideAcrossResize(InnerMap<TOuter, TInner, TValue> map, InnerMap<TOuter, TInner, TValue>.TimedNode node, int version, long deadline)
    {
        for (var hops = 0; hops < 64; hops++)
        {
            Interlocked.MemoryBarrier();
            if (map.State != InnerMapState.Moved)
            {
                return; // live (any later resize reads our store), or retired (the entry left with its map)
            }

            InnerMap<TOuter, TInner, TValue>.TimedNode? copy;
            lock (map)
            {
                // The resize that moved the map is over: a node of the map when it was copied links to its copy; a node
                // removed or replaced before that is in no wheel and links to nothing.
                copy = node.WheelPrev;
            }

            if (copy is null || !CarryInto(copy, version, deadline))
            {
                return; // the entry left before the resize, or was written since
            }

            (map, node) = (copy.Owner, copy);
        }
    }

    /// <summary>Moves <paramref name="copy"/>'s deadline later, to <paramref name="target"/>, unless its version shows a write since; false then.</summary>
    private static bool CarryInto(InnerMap<TOuter, TInner, TValue>.TimedNode copy, int version, long target)
    {
        var current = Volatile.Read(ref copy.Deadline);
        while (current < target)
        {
            if (Volatile.Read(ref copy.Version) != version)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref copy.Deadline, target, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return Volatile.Read(ref copy.Version) == version; // at or past it already (taken by the resize, or a later read)
    }

    private static void ValidateExpiryOptions(NestedMapOptions<TOuter, TInner, TValue> options)
    {
        static void Positive(TimeSpan? span, string name)
        {
            if (span is { } value && (value <= TimeSpan.Zero || value == Timeout.InfiniteTimeSpan))
            {
                throw new ArgumentOutOfRangeException(nameof(options), $"{name} must be a positive, finite time span, or null for none (got {value}).");
            }
        }

        Positive(options.ExpireAfterWrite, nameof(options.ExpireAfterWrite));
        Positive(options.ExpireAfterAccess, nameof(options.ExpireAfterAccess));
        Positive(options.ExpireOuterAfterIdle, nameof(options.ExpireOuterAfterIdle));
        if (options.ExpireAfterWrite is not null && options.ExpireAfterAccess is not null)
        {
            throw new ArgumentException(
                "ExpireAfterWrite and ExpireAfterAccess cannot both be set: choose a fixed lifetime after each write, or a sliding one after each access.",
                nameof(options));
        }

        if (options.InsertionSiteSampling is < 0 or > InsertionSampler<TOuter, TInner, TValue>.MaxRate)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"InsertionSiteSampling must be 0 (off) or a rate from 1 to {InsertionSampler<TOuter, TInner, TValue>.MaxRate} (got {options.InsertionSiteSampling}).");
        }

        if (options.MaxEntries is < 1 || options.MaxOuterKeys is < 1 || options.MaxEntriesPerOuter is < 1 || options.MaxRemovalsPerSlice < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options),
                $"MaxEntries, MaxOuterKeys and MaxEntriesPerOuter must be at least 1 or null, and MaxRemovalsPerSlice at least 1 (got {options.MaxEntries}, {options.MaxOuterKeys}, {options.MaxEntriesPerOuter}, {options.MaxRemovalsPerSlice}).");
        }

        if (!Enum.IsDefined(options.CapacityPolicy))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"CapacityPolicy {options.CapacityPolicy} is not defined.");
        }
    }

    private static TimeSpan ValidTtl(TimeSpan timeToLive)
    {
        if (timeToLive <= TimeSpan.Zero && timeToLive != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeToLive), timeToLive, "The time to live must be positive, or Timeout.InfiniteTimeSpan for none.");
        }

        return timeToLive;
    }

    private static void OnTimer(object? state)
    {
        var target = (TimerTarget)state!;

        // The timer holds the map weakly: once nobody references the map, it is collected and the timer ends itself.
        if (target.Map.TryGetTarget(out var map))
        {
            map.OnTimerFired();
        }
        else
        {
            target.Timer?.Dispose();
        }
    }

    /// <summary>Converts a time span to timestamp units (0 for none), at least 1 and at most "no deadline".</summary>
    private long ToTimestampSpan(TimeSpan? span)
    {
        if (span is not { } value)
        {
            return 0;
        }

        var units = (double)value.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond;
        return (long)Math.Clamp(units, 1, InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline);
    }

    /// <summary>The deadline of a write at <paramref name="now"/>: per-call TTL, else the map's default, else "none" stamped with the write time.</summary>
    private long DeadlineFor(long now, TimeSpan? ttl)
    {
        var span = ttl is { } value
            ? (value == Timeout.InfiniteTimeSpan ? 0 : ToTimestampSpan(value))
            : (_writeTtl != 0 ? _writeTtl : _accessTtl);
        const long none = InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline;
        return span == 0 || span >= none - now ? none + Math.Max(0, now) : now + span;
    }

    /// <summary>
    /// The current time when <paramref name="node"/> or its outer key has a deadline to check; otherwise 0, a
    /// placeholder that changes no answer (a plain node is never expired, nor an outer key without idle expiry).
    /// </summary>
    private long NowIfTimed(InnerMap<TOuter, TInner, TValue>.Node node) =>
        node is InnerMap<TOuter, TInner, TValue>.TimedNode || _idleTtl != 0 ? _time.GetTimestamp() : 0;

    /// <summary>Gets whether the outer key of <paramref name="map"/> has passed its idle deadline at <paramref name="now"/>: from then on it is gone with all its entries, swept or not.</summary>
    /// <remarks>Never true without idle expiry: an idle node kept only for the outer-key bound has no deadline.</remarks>
    private static bool IsOuterExpiredAt(InnerMap<TOuter, TInner, TValue> map, long now) =>
        map.IdleNode is { } idle && idle.IsExpiredAt(now);

    /// <summary>Gets whether the outer key of <paramref name="map"/> has passed its idle deadline now, for a lock-free read (reads the clock only when needed).</summary>
    private bool IsOuterExpiredOnRead(InnerMap<TOuter, TInner, TValue> map)
    {
        if (_idleTtl == 0 || map.IdleNode is not { } idle)
        {
            return false;
        }

        var deadline = Volatile.Read(ref idle.Deadline);
        if (_coarseClock is { } coarse && coarse.IsCertainlyAhead(deadline))
        {
            return false;
        }

        return deadline <= (_coarseClock?.PreciseNow() ?? _time.GetTimestamp());
    }

    /// <summary>Checks a node found by a lock-free read against its deadline, and slides the entry's and outer key's deadlines.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool IsLiveOnRead(InnerMap<TOuter, TInner, TValue> map, InnerMap<TOuter, TInner, TValue>.Node node)
    {
        const long none = InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline;
        var timed = node as InnerMap<TOuter, TInner, TValue>.TimedNode;
        var deadline = timed is null ? none : Volatile.Read(ref timed.Deadline);
        if (deadline >= none && _idleTtl == 0)
        {
            // No deadline (an entry kept only for a bound): no clock needed.
            return true;
        }

        // The outer key's idle deadline bounds every entry's: from it on, the outer key is gone with all its entries.
        // A map being retired keeps its idle node, so a reader that found the map just before it was unlinked still
        // checks the deadline that retired it.
        var idle = _idleTtl != 0 ? map.IdleNode : null;
        if (idle is not null)
        {
            deadline = Math.Min(deadline, Volatile.Read(ref idle.Deadline));
        }

        // The exact deadline, on every read: an expired value is never returned, swept or not. With the system clock,
        // the coarse clock first proves most deadlines still ahead without a precise read (see CoarseClock for why
        // that matters); its estimate is good enough to slide deadlines, which are precise only to their threshold.
        long now;
        if (_coarseClock is { } coarse && coarse.TryEstimate(out var estimate, out var upperBound) && (deadline >= none || deadline > upperBound))
        {
            now = estimate;
        }
        else
        {
            now = _coarseClock?.PreciseNow() ?? _time.GetTimestamp();
            if (deadline < none && deadline <= now)
            {
                // Gone: and not slid back to life either (a read never moves a deadline that has passed).
                return false;
            }
        }

        if (timed is not null && _accessTtl != 0 && Slide(timed, now + _accessTtl, SlideThreshold(_accessTtl), out int version))
        {
            KeepSlideAcrossResize(map, timed, version, now + _accessTtl);
        }

        if (idle is not null)
        {
            Slide(idle, now + _idleTtl, SlideThreshold(_idleTtl));
        }

        return true;
    }

    /// <summary>How far a sliding deadline must move before a read stores it: 1/64 of the window.</summary>
    /// <remarks>
    /// Storing on every read would dirty the entry's cache line on every read, which costs more than the lookup itself
    /// in a large map. With this threshold an entry read continuously is written about 64 times per window, and it may
    /// expire up to 1/64 of the window before its last access + window.
    /// </remarks>
    private static long SlideThreshold(long window) => Math.Max(1, window / 64);

    /// <summary>Marks an outer key touched by a write: gives a new map its idle node, and slides the idle deadline.</summary>
    private void TouchOuter_NeedsLock(InnerMap<TOuter, TInner, TValue> map, long now)
    {
        if (_outerWheel is not { } wheel)
        {
            return;
        }

        if (map.IdleNode is { } idle)
        {
            if (_idleTtl != 0)
            {
                Slide(idle, now + _idleTtl, SlideThreshold(_idleTtl));
            }

            return;
        }

        var deadline = _idleTtl != 0 ? now + _idleTtl : InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline + Math.Max(0, now);
        var node = new InnerMap<TOuter, TInner, TValue>.TimedNode(default!, 0, default!, 0, deadline, map);
        lock (_wheelLock)
        {
            map.IdleNode = node;
            wheel.Schedule(node);
            NoteDeadline_NeedsWheelLock(deadline);
        }
    }

    /// <summary>Writes a new value (and deadline) into a present entry of the live <paramref name="map"/>; reports the old value as replaced.</summary>
    private void UpdateEntry_NeedsLock(
        InnerMap<TOuter, TInner, TValue> map,
        InnerMap<TOuter, TInner, TValue>.Node node,
        TValue value,
        long now,
        TimeSpan? ttl,
        ref List<NestedRemoval<TOuter, TInner, TValue>>? removals,
        bool revive = false)
    {
        var old = node.Value;
        var current = map.Update_NeedsLock(node, value);
        if (!ReferenceEquals(current, node) && node is InnerMap<TOuter, TInner, TValue>.TimedNode replaced)
        {
            lock (_wheelLock)
            {
                TimerWheel<TOuter, TInner, TValue>.Substitute(replaced, (InnerMap<TOuter, TInner, TValue>.TimedNode)current);
            }
        }

        CountRemovals(revive ? RemovalReason.Expired : RemovalReason.Replaced, 1);
        if (!revive)
        {
            AddRemoval(ref removals, map.Outer, node.Key, old, RemovalReason.Replaced);
        }

        if (ttl is null && !_timesEntries && !revive)
        {
            // No deadline asked for: an entry given a per-call TTL earlier keeps it. (A revived entry is a new entry
            // and must not keep the deadline that expired it.)
            return;
        }

        var deadline = DeadlineFor(now, ttl);
        if (current is InnerMap<TOuter, TInner, TValue>.TimedNode timed)
        {
            SetDeadline_NeedsLock(timed, deadline);
            return;
        }

        // A plain entry gets its first deadline: a timed node takes its place in the chain and joins the wheel.
        var timedNode = new InnerMap<TOuter, TInner, TValue>.TimedNode(current.Key, current.Hash, value, current.Version + 1, deadline, map);
        lock (_wheelLock)
        {
            map.Replace_NeedsLock(current, timedNode);
            _entryWheel!.Schedule(timedNode);
            NoteDeadline_NeedsWheelLock(deadline);
        }
    }

    /// <summary>Sets a timed entry's deadline; moves it in the wheel only when the deadline moved earlier.</summary>
    private void SetDeadline_NeedsLock(InnerMap<TOuter, TInner, TValue>.TimedNode node, long deadline)
    {
        const long none = InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline;
        var old = Volatile.Read(ref node.Deadline);
        if (deadline >= none && old >= none)
        {
            // Still no deadline: keep the first write's stamp, which orders eviction oldest-written first.
            return;
        }

        Volatile.Write(ref node.Deadline, deadline);
        if (deadline < old)
        {
            // Earlier than its bucket: the sweeper would meet it too late, so refile it now. (A later deadline is
            // left where it is and refiled when the sweeper meets it: no wheel lock on the common overwrite.)
            lock (_wheelLock)
            {
                _entryWheel!.Reschedule(node);
                NoteDeadline_NeedsWheelLock(deadline);
            }
        }
    }

    /// <summary>Checks the entry bounds before a new entry goes into the live <paramref name="map"/>; evicts within it when the policy says so.</summary>
    /// <returns><see langword="false"/> when the write must be refused (<paramref name="refusedBy"/> names the bound).</returns>
    private bool MakeRoom_NeedsLock(InnerMap<TOuter, TInner, TValue> map, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals, out (string Name, long Limit) refusedBy)
    {
        refusedBy = default;
        if (_maxEntriesPerOuter is { } perOuter && map.Count >= perOuter)
        {
            // Exact: we hold the map's lock. Entries past their deadline are gone already for every reader, so they
            // make room first (a walk of this outer key's entries, at most MaxEntriesPerOuter of them).
            PurgeExpired_NeedsLock(map, now, ref removals);
            if (map.Count >= perOuter && !_evict)
            {
                refusedBy = (nameof(NestedMapOptions<,,>.MaxEntriesPerOuter), perOuter);
                return false;
            }

            // The victim is the entry closest to its deadline.
            while (map.Count >= perOuter && FindSoonestExpiring_NeedsLock(map) is { } victim)
            {
                RemoveEntryKeepMap_NeedsLock(map, victim, RemovalReason.Evicted, ref removals);
            }
        }

        if (_maxEntries is { } max && !_evict && Count >= max)
        {
            refusedBy = (nameof(NestedMapOptions<,,>.MaxEntries), max);
            return false;
        }

        return true;
    }

    /// <summary>Removes the expired entries of the live <paramref name="map"/>, keeping the map (the caller adds to it next).</summary>
    private void PurgeExpired_NeedsLock(InnerMap<TOuter, TInner, TValue> map, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        List<InnerMap<TOuter, TInner, TValue>.Node>? expired = null;
        foreach (var head in map.Buckets)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                if (node.IsExpiredAt(now))
                {
                    (expired ??= []).Add(node);
                }
            }
        }

        foreach (var node in expired ?? [])
        {
            RemoveEntryKeepMap_NeedsLock(map, node, RemovalReason.Expired, ref removals);
        }
    }

    private static InnerMap<TOuter, TInner, TValue>.Node? FindSoonestExpiring_NeedsLock(InnerMap<TOuter, TInner, TValue> map)
    {
        InnerMap<TOuter, TInner, TValue>.Node? soonest = null;
        var soonestDeadline = long.MaxValue;
        foreach (var head in map.Buckets)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                var deadline = node is InnerMap<TOuter, TInner, TValue>.TimedNode timed ? Volatile.Read(ref timed.Deadline) : long.MaxValue;
                if (soonest is null || deadline < soonestDeadline)
                {
                    soonest = node;
                    soonestDeadline = deadline;
                }
            }
        }

        return soonest;
    }

    /// <summary>
    /// Removes one entry of the live <paramref name="map"/> (table, wheel, counts, report) without retiring the map:
    /// the caller adds to it next, or decides itself (<see cref="RemoveEntry_NeedsLock"/>).
    /// </summary>
    private void RemoveEntryKeepMap_NeedsLock(
        InnerMap<TOuter, TInner, TValue> map, InnerMap<TOuter, TInner, TValue>.Node node, RemovalReason reason, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        Debug.Assert(Monitor.IsEntered(map) && map.IsLive, "The live inner map's lock must be held.");
        var removed = map.Remove_NeedsLock(node.Key, node.Hash, _innerComparer);
        Debug.Assert(ReferenceEquals(removed, node), "The node to remove is the key's node.");
        if (node is InnerMap<TOuter, TInner, TValue>.TimedNode timed)
        {
            lock (_wheelLock)
            {
                _entryWheel!.Deschedule(timed);
            }
        }

        _count.Decrement();
        CountRemovals(reason, 1);
        AddRemoval(ref removals, map.Outer, node.Key, node.Value, reason);
    }

    /// <summary>Takes a retired map's nodes out of the wheels and reports its entries (see <see cref="Retire_NeedsLock(InnerMap{TOuter, TInner, TValue}, RemovalReason, long, ref List{NestedRemoval{TOuter, TInner, TValue}}?, out int)"/>).</summary>
    /// <returns>How many of the entries had expired (they were already gone for readers).</returns>
    /// <remarks>
    /// Allocates nothing: the caller holds the wheel lock whenever the map has wheel nodes, and has reserved room in
    /// <paramref name="removals"/> for every entry, because the map is already unlinked and retired when this runs.
    /// </remarks>
    private int ForgetEntries_NeedsBothLocks(InnerMap<TOuter, TInner, TValue> map, RemovalReason reason, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        Debug.Assert(Monitor.IsEntered(map), "The inner map's lock must be held.");
        if (_entryWheel is null && map.IdleNode is null && _onRemoved is null)
        {
            return 0;
        }

        // An outer key past its idle deadline was already gone for readers with all its entries.
        var outerExpired = IsOuterExpiredAt(map, now);
        var expired = 0;
        foreach (var head in map.Buckets)
        {
            for (var node = head; node is not null; node = node.Next)
            {
                if (node is InnerMap<TOuter, TInner, TValue>.TimedNode timed)
                {
                    Debug.Assert(Monitor.IsEntered(_wheelLock), "The wheel lock must be held.");
                    _entryWheel!.Deschedule(timed);
                }

                var isExpired = outerExpired || node.IsExpiredAt(now);
                expired += isExpired ? 1 : 0;
                Debug.Assert(_onRemoved is null || removals!.Count < removals.Capacity, "Room for the report was reserved.");
                AddRemoval(ref removals, map.Outer, node.Key, node.Value, isExpired ? RemovalReason.Expired : reason);
            }
        }

        if (map.IdleNode is { } idle)
        {
            // Out of the wheel, but still the retired map's: a lock-free reader that found this map before the unlink
            // checks its deadline (see IsLiveOnRead). Nothing else looks at a retired map's idle node.
            Debug.Assert(Monitor.IsEntered(_wheelLock), "The wheel lock must be held.");
            _outerWheel!.Deschedule(idle);
        }

        return expired;
    }

    /// <summary>Removes due entries (or, for the outer wheel, whole idle outer keys) from the wheel's backlog, at most about <paramref name="budget"/> entries.</summary>
    private int Sweep_NeedsWheelLock(
        TimerWheel<TOuter, TInner, TValue> wheel, bool outerKeys, long now, int budget, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        wheel.Advance(now);
        var removed = 0;

        // Examining is bounded too: a node whose map is busy goes to the back of the backlog, and one not yet due is
        // refiled; neither may keep the slice going.
        for (var examined = 0; removed < budget && examined < 4 * Math.Max(budget, 1) && wheel.TryPeekBacklog(out var node); examined++)
        {
            if (!node.IsExpiredAt(now))
            {
                wheel.Reschedule(node);
                continue;
            }

            var map = node.Owner;

            // Lock order (see the class remarks): we hold the wheel lock, so we only try the map's lock. Its holder
            // may be a writer waiting for the wheel lock; we pass over the map and come back to it.
            if (!Monitor.TryEnter(map))
            {
                wheel.DeferInBacklog(node);
                continue;
            }

            try
            {
                // Every node in a wheel belongs to a live map: every path that retires, resizes or removes takes the
                // node out (or substitutes its copy) under the map's lock and the wheel lock, both of which we hold.
                Debug.Assert(map.IsLive, "A node in the wheel belongs to a live map.");

                // Race resolved here: between the check above and this lock a writer may have revived the entry or
                // touched the outer key, moving the deadline (writers do that under the map's lock, which we now
                // hold). Decide again; a node that is no longer due is refiled.
                if (!node.IsExpiredAt(now))
                {
                    wheel.Reschedule(node);
                    continue;
                }

                if (outerKeys)
                {
                    removed += Retire_NeedsLock(map, RemovalReason.Expired, now, ref removals);
                }
                else
                {
                    RemoveEntry_NeedsLock(map, node, RemovalReason.Expired, now, ref removals);
                    removed++;
                }
            }
            finally
            {
                Monitor.Exit(map);
            }
        }

        return removed;
    }

    /// <summary>Evicts entries closest to their deadline until <see cref="Count"/> is back within <paramref name="max"/> (bounded per call).</summary>
    private void EvictEntries(long max, long now)
    {
        List<NestedRemoval<TOuter, TInner, TValue>>? removals = null;
        lock (_wheelLock)
        {
            for (var i = 0; i < _maxRemovalsPerSlice && Count > max; i++)
            {
                if (!EvictOne_NeedsWheelLock(_entryWheel!, outerKeys: false, now, ref removals))
                {
                    break;
                }
            }
        }

        Notify(removals);
    }

    /// <summary>Evicts the outer key closest to its idle deadline (or the oldest, without idle expiry) to make room for a new one.</summary>
    private bool EvictOuterKey(long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        lock (_wheelLock)
        {
            return EvictOne_NeedsWheelLock(_outerWheel!, outerKeys: true, now, ref removals);
        }
    }

    private bool EvictOne_NeedsWheelLock(TimerWheel<TOuter, TInner, TValue> wheel, bool outerKeys, long now, ref List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        foreach (var node in wheel.InExpiryOrder(refileEarly: true))
        {
            var map = node.Owner;
            if (!Monitor.TryEnter(map))
            {
                continue;
            }

            try
            {
                Debug.Assert(map.IsLive, "A node in the wheel belongs to a live map.");
                if (outerKeys)
                {
                    Retire_NeedsLock(map, RemovalReason.Evicted, now, ref removals);
                }
                else
                {
                    RemoveEntry_NeedsLock(map, node, node.IsExpiredAt(now) ? RemovalReason.Expired : RemovalReason.Evicted, now, ref removals);
                }
            }
            finally
            {
                Monitor.Exit(map);
            }

            // The removal may have taken other nodes out of the wheel (a whole map): the enumeration is stale now.
            return true;
        }

        return false;
    }

    /// <summary>Work a writer does after its locks are released: eviction over <see cref="NestedMapOptions{TOuter, TInner, TValue}.MaxEntries"/>, a maintenance slice when one is due, and the timer.</summary>
    /// <param name="clocked">Whether the write read the clock; a write that did not has no wheel to serve.</param>
    /// <param name="now">The time the write read; any value, 0 included, is a valid timestamp (a flag says whether it was read).</param>
    private void AfterWrite(bool clocked, long now)
    {
        if (!clocked)
        {
            return;
        }

        if (_evict && _maxEntries is { } max && Count > max)
        {
            EvictEntries(max, now);
        }

        if (now >= Volatile.Read(ref _nextDue))
        {
            RunMaintenanceSlice();
        }
        else
        {
            SyncTimer();
        }
    }

    /// <summary>Records that a node with <paramref name="deadline"/> was filed: brings the next maintenance forward when it is due sooner.</summary>
    private void NoteDeadline_NeedsWheelLock(long deadline)
    {
        if (deadline >= InnerMap<TOuter, TInner, TValue>.TimedNode.NoDeadline)
        {
            return;
        }

        // The end of the deadline's level-0 tick: the sweep then finds the whole bucket due (lag under one tick).
        var tick = (_entryWheel ?? _outerWheel)!.TickSpan;
        var wake = ((deadline / tick) + 1) * tick;
        if (wake < Volatile.Read(ref _nextDue))
        {
            Volatile.Write(ref _nextDue, wake);
        }
    }

    /// <summary>Sets the timer to the next due time, if that changed; never called with an inner map's lock or the wheel lock held.</summary>
    /// <remarks>
    /// <see cref="ITimer.Change"/> is called with no lock held: a time provider may run due timer callbacks inside it
    /// (FakeTimeProvider runs every due callback of any of its timers there, on the calling thread), and such a
    /// callback must not run under the timer lock: it may run a maintenance slice and removal callbacks (user code), or
    /// wait for a thread that needs the timer lock, which would deadlock. One thread at a time applies changes (see
    /// the race comment below), so changes can never be applied out of order.
    /// </remarks>
    private void SyncTimer()
    {
        if (Volatile.Read(ref _nextDue) == Volatile.Read(ref _timerSetFor))
        {
            return;
        }

        var now = _time.GetTimestamp();
        lock (_timerLock)
        {
            // Race resolved here: another thread is changing the timer, outside the lock. Rather than call Change
            // concurrently (two calls may land in either order, and the older due time could win), bump the
            // generation: that thread checks it after its call and goes round again with the latest due time.
            if (_timerApplying)
            {
                _timerGeneration++;
                return;
            }

            _timerApplying = true;
        }

        var dueNow = false;
        try
        {
            while (true)
            {
                ITimer? timer;
                TimeSpan due;
                long generation;
                lock (_timerLock)
                {
                    generation = _timerGeneration;
                    var target = Volatile.Read(ref _nextDue);
                    if (_disposed || target == _timerSetFor)
                    {
                        _timerApplying = false;
                        return;
                    }

                    if (target <= now)
                    {
                        // Due already: a timer set to zero may fire on this very thread (a fake time provider does), and
                        // a slice that re-arms it would recurse; the work goes to the thread pool instead, below.
                        _timerApplying = false;
                        dueNow = true;
                        break;
                    }

                    _timerSetFor = target;
                    timer = target == long.MaxValue ? _timer : _timer ??= CreateTimer();
                    due = target == long.MaxValue ? Timeout.InfiniteTimeSpan : _time.GetElapsedTime(now, target);
                }

                try
                {
                    timer?.Change(due, Timeout.InfiniteTimeSpan);
                }
                catch (ObjectDisposedException) when (Volatile.Read(ref _disposed))
                {
                    // Dispose ran while we were outside the lock: there is no timer to set any more.
                }

                lock (_timerLock)
                {
                    // Nothing asked for another change, and the timer did not fire, since we read the due time: the
                    // change we applied is the latest. Deciding and clearing the flag under one lock means a request
                    // is either seen here or finds the flag clear and applies itself.
                    if (generation == _timerGeneration)
                    {
                        _timerApplying = false;
                        return;
                    }
                }

                now = _time.GetTimestamp(); // no lock held: a callback this runs finds the flag set and bumps the generation
            }
        }
        catch
        {
            lock (_timerLock)
            {
                _timerApplying = false;
            }

            throw;
        }

        if (dueNow)
        {
            QueueContinuation();
        }
    }

    private ITimer CreateTimer()
    {
        var target = new TimerTarget(new WeakReference<ConcurrentNestedMap<TOuter, TInner, TValue>>(this));

        // No ambient state (activities, async locals) of whichever caller happened to arm the timer flows into it.
        using (ExecutionContext.SuppressFlow())
        {
            target.Timer = _time.CreateTimer(OnTimer, target, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        return target.Timer;
    }

    private void QueueContinuation()
    {
        // After Dispose no background work starts; writers still sweep what is due.
        if (!Volatile.Read(ref _disposed) && Interlocked.Exchange(ref _continuationQueued, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static map =>
                {
                    Volatile.Write(ref map._continuationQueued, 0);
                    map.RunMaintenanceInBackground();
                },
                this,
                preferLocal: false);
        }
    }

    private void EnsureEntryWheel()
    {
        var now = _time.GetTimestamp(); // before the lock: see RunMaintenanceSlice
        lock (_wheelLock)
        {
            _entryWheel ??= new TimerWheel<TOuter, TInner, TValue>(_time.TimestampFrequency, now);
        }
    }

    private void AddRemoval(ref List<NestedRemoval<TOuter, TInner, TValue>>? removals, TOuter outer, TInner inner, TValue value, RemovalReason reason)
    {
        if (_onRemoved is not null)
        {
            (removals ??= []).Add(new NestedRemoval<TOuter, TInner, TValue>(outer, inner, value, reason));
        }
    }

    /// <summary>Tells the callback of the removals, outside every lock; its exceptions are counted and go no further.</summary>
    private void Notify(List<NestedRemoval<TOuter, TInner, TValue>>? removals)
    {
        if (removals is null)
        {
            return;
        }

        foreach (var removal in removals)
        {
            try
            {
                _onRemoved!(removal);
            }
#pragma warning disable CA1031 // The callback is user code: whatever it throws must not stop cleanup or corrupt the map.
            catch (Exception)
#pragma warning restore CA1031
            {
                Interlocked.Increment(ref _callbackFailures);
            }
        }
    }

    /// <summary>The timer's state: the map, held weakly, and the timer, so that a timer outliving its map can end itself.</summary>
    private sealed class TimerTarget(WeakReference<ConcurrentNestedMap<TOuter, TInner, TValue>> map)
    {
        public WeakReference<ConcurrentNestedMap<TOuter, TInner, TValue>> Map { get; } = map;

        public ITimer? Timer { get; set; }
    }
}
