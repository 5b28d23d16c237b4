namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// Turns the internal exceptions of a walk or an evaluation (too deep, over a budget, undecodable text, no stack left)
/// into the coded <see cref="ExpressionException"/> users see: the one place where that mapping is decided.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal static class InternalFailures
{
    /// <summary>Whether <paramref name="e"/> is one of the internal exceptions <see cref="ToCoded"/> translates.</summary>
    /// <remarks>
    /// An <see cref="InvalidOperationException"/> from System.Text.Json during an evaluation is text it cannot decode: a
    /// member name with a lone surrogate escape met by a lookup (which compares names). The evaluator checks every
    /// element's kind before it calls a kind-specific method, so no other of its exceptions is expected there.
    /// </remarks>
    public static bool IsInternal(Exception e) =>
        e is WalkLimitException or InvalidTextException or InsufficientExecutionStackException || IsUndecodableText(e);

    /// <summary>
    /// Whether System.Text.Json threw <paramref name="e"/> during an evaluation: text it cannot decode (a lone surrogate
    /// escape in a member name a lookup compares, or in a string). It marks its exceptions' source "System.Text.Json"
    /// (or "System.Text.Json.Rethrowable"); the evaluator checks every element's kind before a kind-specific call, so
    /// its other <see cref="InvalidOperationException"/>s do not arise there. (A disposed input document is not this.)
    /// Deliberately not read from the stack trace, which Native AOT may build without method names.
    /// </summary>
    public static bool IsUndecodableText(Exception e) =>
        e is InvalidOperationException and not ObjectDisposedException
        && e.Source is { } source && source.StartsWith("System.Text.Json", StringComparison.Ordinal);

    /// <summary>The coded error for an internal exception.</summary>
    /// <param name="e">The internal exception.</param>
    /// <param name="expression">The expression text, for the message.</param>
    /// <param name="budgetDetail">What to say when a budget ran out (which budget, and its size).</param>
    /// <param name="offset">Where in the expression.</param>
    public static ExpressionException ToCoded(Exception e, string expression, string budgetDetail, int offset) => e switch
    {
        WalkLimitException { IsDepth: true } => new(ExpressionErrorKind.Limit, e.Message, expression, offset),
        WalkLimitException => new(ExpressionErrorKind.Limit, budgetDetail, expression, offset),
        InvalidTextException or InvalidOperationException => new(ExpressionErrorKind.InvalidValue, ErrorMessages.InvalidText, expression, offset),
        _ => new(ExpressionErrorKind.Limit, ErrorMessages.StackExhausted, expression, offset),
    };
}
