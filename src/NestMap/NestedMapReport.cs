using System.Text.Json;
using System.Text.Json.Serialization;

namespace NestMap;

/// <summary>
/// A leak report of one <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/>, from
/// <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}.Diagnose"/>: where the entries are, what is pending removal,
/// and, with <see cref="NestedMapOptions{TOuter, TInner, TValue}.InsertionSiteSampling"/>, which code put the resident
/// entries there and how old they are.
/// </summary>
/// <remarks>Immutable; serialise it with <see cref="ToJson"/>. Keys are shown with <see cref="object.ToString"/>.</remarks>
public sealed record NestedMapReport
{
    /// <summary>Gets the map's name (<see cref="NestedMapOptions{TOuter, TInner, TValue}.Name"/>).</summary>
    public required string Name { get; init; }

    /// <summary>Gets when the report was taken (from the map's time provider).</summary>
    public required DateTimeOffset TakenAt { get; init; }

    /// <summary>Gets the entries held, including expired ones not yet removed.</summary>
    public required long Entries { get; init; }

    /// <summary>Gets the entries held whose deadline has not passed.</summary>
    public required long LiveEntries { get; init; }

    /// <summary>Gets the entries past their deadline and not yet removed (never returned by reads).</summary>
    public required long ExpiredPending { get; init; }

    /// <summary>Gets the outer keys held.</summary>
    public required int OuterKeys { get; init; }

    /// <summary>Gets the inner maps that hold nothing (zombies); 0 apart from one a writer has just made.</summary>
    public required long EmptyInnerMaps { get; init; }

    /// <summary>Gets the entries waiting in the expiry backlog for the next maintenance slice.</summary>
    public required long ExpiryBacklog { get; init; }

    /// <summary>Gets the outer keys holding the most entries, most first.</summary>
    public required IReadOnlyList<OuterKeyUsage> TopOuterKeys { get; init; }

    /// <summary>Gets the outer keys untouched for longest, idlest first; empty unless <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireOuterAfterIdle"/> is set.</summary>
    public required IReadOnlyList<OuterKeyUsage> IdlestOuterKeys { get; init; }

    /// <summary>Gets what the insertion-site sampler found; <see langword="null"/> when sampling is off.</summary>
    public InsertionSiteReport? InsertionSites { get; init; }

    /// <summary>Serialises the report to indented JSON (camel case; time spans as <c>d.hh:mm:ss</c>).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(this, NestedMapReportJsonContext.Default.NestedMapReport);
}

/// <summary>One outer key in a <see cref="NestedMapReport"/>.</summary>
/// <param name="Outer">The outer key, as text.</param>
/// <param name="Entries">The entries it holds.</param>
/// <param name="IdleFor">How long no one touched it; <see langword="null"/> when the map does not track idleness.</param>
public sealed record OuterKeyUsage(string Outer, int Entries, TimeSpan? IdleFor);

/// <summary>What the insertion-site sampler found: the resident sampled entries, by age and by the code that inserted them.</summary>
/// <remarks>
/// Counts of entries are estimates: each resident sample stands for the sampling rate in inserts, divided by the
/// probability with which the sampler's time budget kept it (see <see cref="SkippedForTimeBudget"/>); the estimates are
/// unbiased whatever mix of code inserts. Shares are shares of those estimates.
/// </remarks>
public sealed record InsertionSiteReport
{
    /// <summary>Gets the sampling rate: about one insert in this many was sampled.</summary>
    public required int SamplingRate { get; init; }

    /// <summary>Gets how many inserts were sampled since the map was made.</summary>
    public required long SampledInserts { get; init; }

    /// <summary>
    /// Gets how many sampling points were not captured, to keep stack captures within the sampler's time budget (about
    /// 1% of a thread's time per map; deep stacks cost more to capture). Each point is captured with a probability set by
    /// the budget before its site is known, and a kept sample weighs the rate divided by that probability, so the
    /// estimates stay unbiased; 0 when captures are cheap.
    /// </summary>
    public long SkippedForTimeBudget { get; init; }

    /// <summary>Gets how many of the kept samples are still resident (their key present and unexpired).</summary>
    public required int ResidentSamples { get; init; }

    /// <summary>Gets a one-line finding, such as "72% of the sampled entries older than 10 minutes were inserted by …".</summary>
    public string? Summary { get; init; }

    /// <summary>Gets the resident sampled entries by age since their insert.</summary>
    public required IReadOnlyList<AgeBucket> EntryAges { get; init; }

    /// <summary>Gets the oldest resident sampled entries, oldest first.</summary>
    public required IReadOnlyList<SampledEntry> OldestEntries { get; init; }

    /// <summary>Gets the insertion sites of the resident sampled entries, the site with the most first.</summary>
    public required IReadOnlyList<SiteUsage> Sites { get; init; }
}

/// <summary>A bucket of the entry-age histogram.</summary>
/// <param name="Label">The bucket, for people (for example <c>1 min - 10 min</c>).</param>
/// <param name="ResidentSamples">Resident sampled entries in the bucket.</param>
/// <param name="EstimatedEntries">The entries it stands for (the sum of its samples' weights).</param>
public sealed record AgeBucket(string Label, int ResidentSamples, long EstimatedEntries);

/// <summary>A resident sampled entry.</summary>
/// <param name="Outer">The outer key, as text.</param>
/// <param name="Inner">The inner key, as text.</param>
/// <param name="Site">Where it was inserted: the first stack frame outside NestMap.</param>
/// <param name="Age">How long ago it was inserted.</param>
public sealed record SampledEntry(string Outer, string Inner, string Site, TimeSpan Age);

/// <summary>One insertion site and the resident sampled entries it inserted.</summary>
/// <param name="Site">The first stack frame outside NestMap, with file and line when symbols are available.</param>
/// <param name="ResidentSamples">Its resident sampled entries.</param>
/// <param name="EstimatedEntries">The entries they stand for (the sum of their samples' weights).</param>
/// <param name="Share">Its share of the entries all resident samples stand for, from 0 to 1.</param>
/// <param name="OldestAge">The age of its oldest resident sampled entry.</param>
public sealed record SiteUsage(string Site, int ResidentSamples, long EstimatedEntries, double Share, TimeSpan OldestAge);

/// <summary>Source-generated JSON for <see cref="NestedMapReport"/> (no reflection at run time).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(NestedMapReport))]
internal sealed partial class NestedMapReportJsonContext : JsonSerializerContext;
