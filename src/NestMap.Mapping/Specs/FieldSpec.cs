using System.Text.Json.Nodes;

namespace NestMap.Mapping.Specs;

/// <summary>One output field of a mapping spec: where it goes and where its value comes from.</summary>
/// <remarks>Immutable; thread-safe. <see cref="Default"/> is a fresh copy on every read.</remarks>
public sealed class FieldSpec
{
    private readonly JsonNode? _default;

    internal FieldSpec(string outputPath, IReadOnlyList<string> segments, string? expression, string? template, bool hasDefault, JsonNode? defaultValue, bool required, int line, int column)
    {
        OutputPath = outputPath;
        Segments = segments;
        Expression = expression;
        Template = template;
        HasDefault = hasDefault;
        _default = defaultValue;
        Required = required;
        Line = line;
        Column = column;
    }

    /// <summary>Gets the output path as written in the spec (<c>customer.name</c>, <c>"x.y".z</c>).</summary>
    public string OutputPath { get; }

    /// <summary>Gets the names along the output path, unquoted.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>Gets the JMESPath expression, or <see langword="null"/> for a template field.</summary>
    public string? Expression { get; }

    /// <summary>Gets the template, or <see langword="null"/> for an expression field.</summary>
    public string? Template { get; }

    /// <summary>Gets whether the field has a default value (which may be JSON <c>null</c>).</summary>
    public bool HasDefault { get; }

    /// <summary>Gets a copy of the default value, used when the expression's value is missing.</summary>
    public JsonNode? Default => _default?.DeepClone();

    /// <summary>Gets whether a missing value without a default fails the mapping.</summary>
    public bool Required { get; }

    /// <summary>Gets the line of the field's key in the spec, from 1.</summary>
    public int Line { get; }

    /// <summary>Gets the column of the field's key in the spec, from 1.</summary>
    public int Column { get; }

    internal JsonNode? DefaultNode => _default;
}
