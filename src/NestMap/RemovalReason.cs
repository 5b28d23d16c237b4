namespace NestMap;

/// <summary>Why an entry left a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/>.</summary>
public enum RemovalReason
{
    /// <summary>Removed by <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}.TryRemove"/>.</summary>
    Removed,

    /// <summary>Its value was overwritten (the removal reports the old value).</summary>
    Replaced,

    /// <summary>Its deadline passed, or its outer key was idle for longer than <see cref="NestedMapOptions{TOuter, TInner, TValue}.ExpireOuterAfterIdle"/>.</summary>
    Expired,

    /// <summary>Evicted to make room under a bound (<see cref="CapacityPolicy.EvictSoonestExpiring"/>).</summary>
    Evicted,

    /// <summary>Removed with its whole outer key by <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}.RemoveOuter"/>.</summary>
    OuterRemoved,

    /// <summary>Removed by <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}.Clear"/>.</summary>
    Cleared,
}
