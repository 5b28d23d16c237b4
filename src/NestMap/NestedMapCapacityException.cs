namespace NestMap;

/// <summary>The exception thrown when a write would exceed a bound of a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/> whose policy is <see cref="CapacityPolicy.Reject"/>.</summary>
/// <remarks>The map is unchanged by the refused write.</remarks>
public sealed class NestedMapCapacityException : InvalidOperationException
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public NestedMapCapacityException()
        : base("The nested map is full.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public NestedMapCapacityException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and the exception that caused it.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public NestedMapCapacityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance naming the bound that was hit.</summary>
    /// <param name="bound">The option name of the bound (for example <c>MaxEntries</c>).</param>
    /// <param name="limit">The bound's value.</param>
    internal NestedMapCapacityException(string bound, long limit)
        : base($"NESTMAP001: the nested map is full: {bound} = {limit} reached, and CapacityPolicy is Reject. Raise {bound}, remove entries, or use CapacityPolicy.EvictSoonestExpiring.")
    {
        Bound = bound;
        Limit = limit;
    }

    /// <summary>Gets the option name of the bound that was hit (<c>MaxEntries</c>, <c>MaxOuterKeys</c> or <c>MaxEntriesPerOuter</c>), when known.</summary>
    public string? Bound { get; }

    /// <summary>Gets the value of the bound that was hit, when known.</summary>
    public long Limit { get; }
}
