namespace NestMap;

/// <summary>What a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/> does when a write would exceed one of its bounds.</summary>
public enum CapacityPolicy
{
    /// <summary>
    /// Refuse the write: <c>TryAdd</c> returns <see langword="false"/>, and <c>Set</c>, <c>GetOrAdd</c> and
    /// <c>AddOrUpdate</c> throw <see cref="NestedMapCapacityException"/>. Nothing already stored is lost. The default,
    /// because a map of live state (sessions, connections) that silently drops entries turns a capacity problem into
    /// wrong answers; a loud refusal shows it where it happens.
    /// </summary>
    Reject,

    /// <summary>
    /// Make room: evict the entry (or, for <see cref="NestedMapOptions{TOuter, TInner, TValue}.MaxOuterKeys"/>, the
    /// outer key) closest to its deadline; with <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireAfterAccess"/>
    /// that is the least recently used, to within the wheel's resolution. Entries without a deadline come after every
    /// dated one, oldest written first. The choice for caches, where any entry can be recomputed.
    /// </summary>
    EvictSoonestExpiring,
}
