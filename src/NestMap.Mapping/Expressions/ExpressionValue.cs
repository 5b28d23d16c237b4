using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Expressions;

/// <summary>The result of <see cref="CompiledExpression.EvaluateValue"/>: a value that may be a view of the input document.</summary>
/// <remarks>
/// A value type that copies nothing: keep the input document alive while you use it. Reading it is thread-safe.
/// </remarks>
public readonly struct ExpressionValue : IEquatable<ExpressionValue>
{
    private readonly JValue _value;
    private readonly CompiledExpression? _expression;

    internal ExpressionValue(JValue value, long steps, CompiledExpression expression)
    {
        _value = value;
        Steps = steps;
        _expression = expression;
    }

    /// <summary>Gets whether the expression found no value (a path that does not exist), as opposed to a JSON <c>null</c>.</summary>
    public bool IsMissing => _value.Type == JType.Missing;

    /// <summary>Gets the JSON kind of the value; <see cref="JsonValueKind.Undefined"/> when missing.</summary>
    public JsonValueKind ValueKind => _value.Type switch
    {
        JType.Null => JsonValueKind.Null,
        JType.Boolean => _value.Boolean ? JsonValueKind.True : JsonValueKind.False,
        JType.Number => JsonValueKind.Number,
        JType.String => JsonValueKind.String,
        JType.Array => JsonValueKind.Array,
        JType.Object => JsonValueKind.Object,
        _ => JsonValueKind.Undefined,
    };

    /// <summary>Gets how many evaluation steps the evaluation used (see <see cref="ExpressionPolicy.MaxSteps"/>).</summary>
    public long Steps { get; }

    internal JValue Value => _value;

    // Built values can share parts ([@, @] nested n times has 2^n leaves in 2n nodes), so writing one out is budgeted
    // too: at most MaxResultSize values are written (an existing element counts one value per 32 bytes).
    private long OutputBudget => _expression?.Policy.MaxResultSize ?? ExpressionPolicy.Default.MaxResultSize;

    private ExpressionException OutputError(Exception e) => InternalFailures.ToCoded(
        e, _expression?.Expression ?? string.Empty, ErrorMessages.Format(ErrorMessages.ResultBudget, OutputBudget), 0);

    /// <summary>Gets the value as an element of the input (or of a literal) when it is one, without copying.</summary>
    /// <param name="element">The element, when the value was selected rather than built.</param>
    /// <returns><see langword="true"/> when the value is an existing element.</returns>
    public bool TryGetElement(out JsonElement element)
    {
        element = _value.IsElement ? _value.Element : default;
        return _value.IsElement;
    }

    /// <summary>Writes the value as JSON (a missing value as <c>null</c>).</summary>
    /// <param name="writer">The writer.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        long budget = OutputBudget;
        try
        {
            JsonText.WriteTo(writer, _value, ref budget);
        }
        catch (Exception e) when (InternalFailures.IsInternal(e))
        {
            throw OutputError(e);
        }
    }

    /// <summary>Converts the value to a new <see cref="JsonNode"/> that does not refer to the input.</summary>
    /// <returns>The node, or <see langword="null"/> for JSON <c>null</c> and for a missing value.</returns>
    /// <exception cref="ExpressionException">The value is larger than <see cref="ExpressionPolicy.MaxResultSize"/> allows (<c>limit</c>).</exception>
    public JsonNode? ToJsonNode()
    {
        long budget = OutputBudget;
        try
        {
            return JsonText.ToNode(_value, ref budget);
        }
        catch (Exception e) when (InternalFailures.IsInternal(e))
        {
            throw OutputError(e);
        }
    }

    /// <summary>Returns the value as compact JSON text (<c>null</c> when missing).</summary>
    /// <returns>The JSON text.</returns>
    /// <exception cref="ExpressionException">The value is larger than <see cref="ExpressionPolicy.MaxResultSize"/> allows (<c>limit</c>).</exception>
    public override string ToString()
    {
        long budget = OutputBudget;
        try
        {
            return JsonText.ToJson(_value, ref budget);
        }
        catch (Exception e) when (InternalFailures.IsInternal(e))
        {
            throw OutputError(e);
        }
    }

    /// <inheritdoc />
    public bool Equals(ExpressionValue other)
    {
        long budget = long.MaxValue;
        try
        {
            return _value.Type == other._value.Type && JsonText.Equal(_value, other._value, ref budget);
        }
        catch (Exception e) when (InternalFailures.IsInternal(e))
        {
            // Values too deep to compare, or holding text that cannot be read: equal only to themselves.
            return false;
        }
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ExpressionValue other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => (int)_value.Type;

    /// <summary>Compares two values as JMESPath does (deep equality; missing equals only missing).</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns><see langword="true"/> when equal.</returns>
    public static bool operator ==(ExpressionValue left, ExpressionValue right) => left.Equals(right);

    /// <summary>Compares two values as JMESPath does (deep equality; missing equals only missing).</summary>
    /// <param name="left">The first value.</param>
    /// <param name="right">The second value.</param>
    /// <returns><see langword="true"/> when different.</returns>
    public static bool operator !=(ExpressionValue left, ExpressionValue right) => !left.Equals(right);
}
