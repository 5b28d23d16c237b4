using System.Runtime.CompilerServices;

namespace NestMap.Internal;

/// <summary>What the map's tables need to know about a key type: whether a key is null, and which comparer to keep.</summary>
/// <typeparam name="T">The key type.</typeparam>
/// <remarks>Shared by the outer table and the inner maps, so that both levels treat keys alike. Thread-safe: stateless.</remarks>
internal static class Keys<T>
    where T : notnull
{
    /// <summary>True only for <see cref="Nullable{T}"/>: a value type whose keys can be null (read once, at type load).</summary>
    private static readonly bool IsNullable = typeof(T).IsValueType && default(T) is null;

    /// <summary>Gets whether <paramref name="key"/> is null.</summary>
    /// <remarks>
    /// Tests the type first: the optimising JIT folds this to a bare <c>key is null</c>, or to nothing for value types
    /// that cannot be null, but unoptimised (Debug) code boxes a value-type key for a bare <c>key is null</c>, allocating
    /// on every call.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsNull(T key) => (!typeof(T).IsValueType || IsNullable) && key is null;

    /// <summary>Throws <see cref="ArgumentNullException"/> when <paramref name="key"/> is null.</summary>
    /// <param name="key">The key.</param>
    /// <param name="name">The parameter's name, filled in by the compiler.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfNull(T key, [CallerArgumentExpression(nameof(key))] string name = "")
    {
        if (IsNull(key))
        {
            ThrowHelper.ThrowArgumentNull(name);
        }
    }

    /// <summary>Returns the comparer to keep: <see langword="null"/> for a value type with the default comparer (so that
    /// <see cref="EqualityComparer{T}.Default"/> is called directly, which the JIT devirtualises and inlines), else the
    /// given comparer or the default one.</summary>
    /// <param name="comparer">The comparer from the options, or <see langword="null"/>.</param>
    public static IEqualityComparer<T>? Normalize(IEqualityComparer<T>? comparer) =>
        typeof(T).IsValueType && (comparer is null || ReferenceEquals(comparer, EqualityComparer<T>.Default))
            ? null
            : comparer ?? EqualityComparer<T>.Default;
}
