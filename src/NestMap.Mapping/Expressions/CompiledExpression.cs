using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Expressions;

/// <summary>A compiled JMESPath expression, made by <see cref="JmesPath.Compile"/>.</summary>
/// <remarks>
/// Immutable and thread-safe: evaluate it from any number of threads at once. Each evaluation has its own step and
/// size budgets from <see cref="Policy"/>; selecting existing elements of the input allocates nothing.
/// </remarks>
public sealed class CompiledExpression
{
    private readonly Evaluator _evaluator;
    private readonly Writer? _writer;
    private readonly int _slots;

    // The parsed JSON literals of the expression: values point into them, so they live as long as the expression.
    private readonly JsonDocument[] _literals;

    internal CompiledExpression(string expression, ExpressionPolicy policy, Evaluator evaluator, Writer? writer, int slots, JsonDocument[] literals)
    {
        Expression = expression;
        Policy = policy;
        _evaluator = evaluator;
        _writer = writer;
        _slots = slots;
        _literals = literals;
    }

    /// <summary>How many variable slots an evaluation needs (a member of an expression set: the set's).</summary>
    internal int SlotCount => _slots;

    /// <summary>Gets the expression text.</summary>
    public string Expression { get; }

    /// <summary>Gets the policy the expression was compiled with, which also bounds its evaluations.</summary>
    public ExpressionPolicy Policy { get; }

    /// <summary>Evaluates the expression; JSON <c>null</c> and "no value" both come back as <see langword="null"/>.</summary>
    /// <param name="input">The input document.</param>
    /// <returns>The result as a new <see cref="JsonNode"/> that does not refer to <paramref name="input"/>.</returns>
    /// <exception cref="ExpressionException">A type error, an arithmetic error, an undefined variable or an exhausted budget.</exception>
    public JsonNode? Evaluate(JsonElement input) => Evaluate(input, out _);

    /// <summary>Evaluates the expression and reports whether its value was missing (the path found nothing) rather than JSON <c>null</c>.</summary>
    /// <param name="input">The input document.</param>
    /// <param name="missing"><see langword="true"/> when the expression found no value; <see langword="false"/> when it
    /// produced a value, which may be an explicit JSON <c>null</c>.</param>
    /// <returns>The result as a new <see cref="JsonNode"/>, or <see langword="null"/> for JSON <c>null</c> and for a missing value.</returns>
    /// <exception cref="ExpressionException">A type error, an arithmetic error, an undefined variable or an exhausted budget.</exception>
    public JsonNode? Evaluate(JsonElement input, out bool missing)
    {
        ExpressionValue value = EvaluateValue(input);
        missing = value.IsMissing;
        return value.ToJsonNode();
    }

    /// <summary>Evaluates the expression without copying: the result may be a view of <paramref name="input"/>.</summary>
    /// <param name="input">The input document; keep it alive (undisposed) while you use the result.</param>
    /// <returns>The result, which can be written to a <see cref="Utf8JsonWriter"/> or converted to a node.</returns>
    /// <exception cref="ExpressionException">A type error, an arithmetic error, an undefined variable or an exhausted budget.</exception>
    public ExpressionValue EvaluateValue(JsonElement input) => EvaluateValueWith(JValue.FromElement(input), NewSlots());

    /// <summary>The variable slots of one evaluation (as a member of a set, the set's evaluation brings its own).</summary>
    private JValue[]? NewSlots() => _slots == 0 ? null : new JValue[_slots];

    /// <summary>Evaluates over <paramref name="slots"/>: this expression's own, or those of an expression set's evaluation.</summary>
    internal ExpressionValue EvaluateValueWith(in JValue root, JValue[]? slots)
    {
        var context = new EvalContext(root, slots, Expression, Policy);
        JValue result;
        try
        {
            result = _evaluator(root, ref context);
        }
        catch (Exception e) when (InternalFailures.IsInternal(e))
        {
            throw Coded(e);
        }

        if (result.Type == JType.Expression)
        {
            throw context.Error(ExpressionErrorKind.InvalidValue, ErrorMessages.ExpressionAsValue, result.Expression.Offset);
        }

        GC.KeepAlive(_literals);
        return new ExpressionValue(result, context.StepsUsed, this);
    }

    /// <summary>
    /// Evaluates the expression and writes its value to <paramref name="writer"/> (JSON <c>null</c> when missing), streaming
    /// where it can: a projection or multi-select at the top is written item by item instead of being built first.
    /// </summary>
    /// <param name="input">The input document.</param>
    /// <param name="writer">Where to write the value.</param>
    /// <returns><see langword="false"/> when the value was missing (and <c>null</c> was written), otherwise <see langword="true"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    /// <exception cref="ExpressionException">The evaluation failed; the writer may then hold part of the value.</exception>
    public bool EvaluateTo(JsonElement input, Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        return EvaluateToWith(JValue.FromElement(input), NewSlots(), writer);
    }

    /// <summary>Evaluates over <paramref name="slots"/> (see <see cref="EvaluateValueWith"/>) and writes the value.</summary>
    internal bool EvaluateToWith(in JValue root, JValue[]? slots, Utf8JsonWriter writer)
    {
        var context = new EvalContext(root, slots, Expression, Policy);
        long budget = Policy.MaxResultSize;
        try
        {
            bool written;
            if (_writer is not null)
            {
                written = _writer(root, ref context, writer, ref budget);
            }
            else
            {
                // Evaluated, then written, in one frame (as EvaluateValue and then ExpressionValue.WriteTo would, with the
                // same errors): this runs once per field of a mapping, so its fixed cost counts.
                JValue result = _evaluator(root, ref context);
                if (result.Type == JType.Expression)
                {
                    throw context.Error(ExpressionErrorKind.InvalidValue, ErrorMessages.ExpressionAsValue, result.Expression.Offset);
                }

                JsonText.WriteTo(writer, result, ref budget);
                written = result.Type != JType.Missing;
            }

            GC.KeepAlive(_literals);
            return written;
        }
        catch (Exception e) when (InternalFailures.IsInternal(e))
        {
            throw Coded(e);
        }
    }

    /// <summary>The coded error for an internal failure of an evaluation (a budget here is the result size written).</summary>
    private ExpressionException Coded(Exception e) =>
        InternalFailures.ToCoded(e, Expression, ErrorMessages.Format(ErrorMessages.ResultBudget, Policy.MaxResultSize), 0);

    /// <summary>Returns the expression text.</summary>
    /// <returns>The expression text.</returns>
    public override string ToString() => Expression;
}
