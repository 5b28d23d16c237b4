namespace NestMap;

/// <summary>One entry of a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/>: an outer key, an inner key and a value.</summary>
/// <typeparam name="TOuter">The type of the outer keys.</typeparam>
/// <typeparam name="TInner">The type of the inner keys.</typeparam>
/// <typeparam name="TValue">The type of the values.</typeparam>
/// <param name="Outer">The outer key.</param>
/// <param name="Inner">The inner key.</param>
/// <param name="Value">The value.</param>
/// <remarks>An immutable copy taken during enumeration; it does not change when the map does.</remarks>
public readonly record struct NestedEntry<TOuter, TInner, TValue>(TOuter Outer, TInner Inner, TValue Value);
