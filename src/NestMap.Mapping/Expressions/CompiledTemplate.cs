using System.Text;
using System.Text.Json;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Expressions;

/// <summary>A compiled template (a NestMap extension to JMESPath): text with <c>{{ expression }}</c> placeholders.</summary>
/// <remarks>
/// <para>A placeholder's value is inserted as is when it is a string, as compact JSON otherwise, and as nothing when it
/// is null or missing (<see cref="Render(JsonElement, out int)"/> counts the missing ones). Inside a placeholder, two
/// closing braces in a row end it: write <c>} }</c> to close two nested multi-select hashes.</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
public sealed class CompiledTemplate
{
    private readonly string[] _texts;
    private readonly CompiledExpression[] _placeholders;

    internal CompiledTemplate(string template, string[] texts, CompiledExpression[] placeholders)
    {
        Template = template;
        _texts = texts;
        _placeholders = placeholders;
    }

    /// <summary>Gets the template text.</summary>
    public string Template { get; }

    /// <summary>Gets the expressions of the placeholders, in order.</summary>
    public IReadOnlyList<CompiledExpression> Placeholders => _placeholders;

    /// <summary>Renders the template against an input.</summary>
    /// <param name="input">The input document.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ExpressionException">A placeholder's evaluation failed.</exception>
    public string Render(JsonElement input) => Render(input, out _);

    /// <summary>Renders the template against an input and counts the placeholders that found no value.</summary>
    /// <param name="input">The input document.</param>
    /// <param name="missing">How many placeholders were missing (rendered as nothing).</param>
    /// <returns>The text.</returns>
    /// <exception cref="ExpressionException">A placeholder's evaluation failed.</exception>
    public string Render(JsonElement input, out int missing)
    {
        missing = 0;
        var text = new StringBuilder(_texts[0]);
        for (int i = 0; i < _placeholders.Length; i++)
        {
            ExpressionValue value = _placeholders[i].EvaluateValue(input);
            JValue v = value.Value;
            if (v.Type == JType.Missing)
            {
                missing++;
            }
            else if (v.Type == JType.String)
            {
                text.Append(String(value));
            }
            else if (v.Type != JType.Null)
            {
                text.Append(value.ToString());
            }

            text.Append(_texts[i + 1]);
            if (text.Length > _placeholders[i].Policy.MaxStringLength)
            {
                throw new ExpressionException(
                    ExpressionErrorKind.Limit,
                    ErrorMessages.Format(ErrorMessages.StringBudget, _placeholders[i].Policy.MaxStringLength),
                    Template,
                    0);
            }
        }

        return text.ToString();
    }

    /// <summary>Returns the template text.</summary>
    /// <returns>The template text.</returns>
    public override string ToString() => Template;

    private static string String(in ExpressionValue value)
    {
        try
        {
            return value.Value.String;
        }
        catch (InvalidTextException)
        {
            // The same error as writing the value out would raise.
            return value.ToString();
        }
    }
}
