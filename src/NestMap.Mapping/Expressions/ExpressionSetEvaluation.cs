using System.Text.Json;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Expressions;

/// <summary>
/// One input's evaluation of a <see cref="CompiledExpressionSet"/>, made by <see cref="CompiledExpressionSet.Evaluate"/>:
/// evaluate any member, in any order, any number of times.
/// </summary>
/// <remarks>
/// A stack-only value that holds the shared lookups of one input; not thread-safe (it cannot leave the method that made
/// it, so it is not shared by accident). Values it returns may be views of the input: keep the input document alive
/// while you use them.
/// </remarks>
public readonly ref struct ExpressionSetEvaluation
{
    private readonly CompiledExpressionSet? _set;
    private readonly JValue _root;
    private readonly JValue[]? _slots;

    internal ExpressionSetEvaluation(CompiledExpressionSet set, JValue root, JValue[]? slots)
    {
        _set = set;
        _root = root;
        _slots = slots;
    }

    /// <summary>Evaluates a member without copying, as <see cref="CompiledExpression.EvaluateValue"/> would.</summary>
    /// <param name="index">The member's index in the set.</param>
    /// <returns>The member's value, which may be a view of the input.</returns>
    /// <exception cref="InvalidOperationException">The evaluation was not made by <see cref="CompiledExpressionSet.Evaluate"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a member's index.</exception>
    /// <exception cref="ExpressionException">The member's evaluation failed.</exception>
    public ExpressionValue EvaluateValue(int index) => Set.Member(index).EvaluateValueWith(_root, _slots);

    /// <summary>Evaluates a member and writes its value (JSON <c>null</c> when missing), as <see cref="CompiledExpression.EvaluateTo"/> would.</summary>
    /// <param name="index">The member's index in the set.</param>
    /// <param name="writer">Where to write the value.</param>
    /// <returns><see langword="false"/> when the value was missing (and <c>null</c> was written), otherwise <see langword="true"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The evaluation was not made by <see cref="CompiledExpressionSet.Evaluate"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not a member's index.</exception>
    /// <exception cref="ExpressionException">The member's evaluation failed; the writer may then hold part of the value.</exception>
    public bool EvaluateTo(int index, Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return Set.Member(index).EvaluateToWith(_root, _slots, writer);
    }

    private CompiledExpressionSet Set => _set ?? throw new InvalidOperationException("This evaluation was not made by CompiledExpressionSet.Evaluate.");
}
