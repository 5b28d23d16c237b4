namespace NestMap;

/// <summary>An entry that left a <see cref="ConcurrentNestedMap{TOuter, TInner, TValue}"/>, as passed to <see cref="NestedMapOptions{TOuter, TInner, TValue}.OnRemoved"/>.</summary>
/// <typeparam name="TOuter">The type of the outer keys.</typeparam>
/// <typeparam name="TInner">The type of the inner keys.</typeparam>
/// <typeparam name="TValue">The type of the values.</typeparam>
/// <param name="Outer">The outer key.</param>
/// <param name="Inner">The inner key.</param>
/// <param name="Value">The value the entry held (for <see cref="RemovalReason.Replaced"/>, the value overwritten).</param>
/// <param name="Reason">Why the entry left.</param>
public readonly record struct NestedRemoval<TOuter, TInner, TValue>(TOuter Outer, TInner Inner, TValue Value, RemovalReason Reason);
