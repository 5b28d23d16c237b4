namespace NestMap.Mapping.Expressions.Internal;

/// <summary>
/// Turns the internal exceptions of a walk or an evaluation (too deep, over a budget, undecodable text, no stack left)
/// into the coded <see cref="ExpressionException"/> users see: the one place where that mapping is decided.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal static class InternalFailures
{
    /// <summary>Whether <paramref name="e"/> is one of the internal exceptions <see cref="ToCoded"/> translates.</summary>
    public static bool IsInternal(Exception e) => e is WalkLimitException or InvalidTextException or InsufficientExecutionStackException;

    /// <summary>The coded error for an internal exception.</summary>
    /// <param name="e">The internal exception.</param>
    /// <param name="expression">The expression text, for the message.</param>
    /// <param name="budgetDetail">What to say when a budget ran out (which budget, and its size).</param>
    /// <param name="offset">Where in the expression.</param>
    public static ExpressionException ToCoded(Exception e, string expression, string budgetDetail, int offset) => e switch
    {
        WalkLimitException { IsDepth: true } => new(ExpressionErrorKind.Limit, e.Message, expression, offset),
        WalkLimitException => new(ExpressionErrorKind.Limit, budgetDetail, expression, offset),
        InvalidTextException => new(ExpressionErrorKind.InvalidValue, ErrorMessages.InvalidText, expression, offset),
        _ => new(ExpressionErrorKind.Limit, ErrorMessages.StackExhausted, expression, offset),
    };
}
