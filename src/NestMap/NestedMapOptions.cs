namespace NestMap;

/// <summary>Options for a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/>.</summary>
/// <typeparam name="TOuter">The type of the outer keys.</typeparam>
/// <typeparam name="TInner">The type of the inner keys.</typeparam>
/// <typeparam name="TValue">The type of the values.</typeparam>
/// <remarks>
/// Options are read once, when the map is constructed; later changes to this object do not affect a map already
/// made. An options object may be shared by several maps and read from several threads.
/// </remarks>
public sealed class NestedMapOptions<TOuter, TInner, TValue>
    where TOuter : notnull
    where TInner : notnull
{
    /// <summary>Gets the comparer for outer keys.</summary>
    /// <value>Default: <see langword="null"/>, meaning <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TOuter>? OuterComparer { get; init; }

    /// <summary>Gets the comparer for inner keys.</summary>
    /// <value>Default: <see langword="null"/>, meaning <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TInner>? InnerComparer { get; init; }

    /// <summary>Gets the number of outer keys to make room for up front.</summary>
    /// <value>Default: 0, meaning the outer table starts small and grows as needed.</value>
    public int InitialOuterCapacity { get; init; }

    /// <summary>Gets the number of entries each new inner map makes room for up front.</summary>
    /// <value>
    /// Default: 0, meaning an inner map starts at its smallest size (two buckets) and doubles as it fills. Set it when
    /// most outer keys are known to hold many entries, to skip the early resizes; every inner map pays for it, even one
    /// that holds a single entry.
    /// </value>
    public int InitialInnerCapacity { get; init; }
}
