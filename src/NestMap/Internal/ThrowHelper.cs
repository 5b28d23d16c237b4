using System.Diagnostics.CodeAnalysis;

namespace NestMap.Internal;

/// <summary>Throws the exceptions of the public surface from methods the JIT keeps out of the hot paths.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowArgumentNull(string paramName) => throw new ArgumentNullException(paramName);

    [DoesNotReturn]
    public static void ThrowKeyNotFound<TOuter, TInner>(TOuter outer, TInner inner) =>
        throw new KeyNotFoundException($"The key pair ({outer}, {inner}) was not present in the nested map.");
}
