namespace NestMap.Mapping.Specs;

/// <summary>One transform of a compatibility step: an input path, and the expression (over the whole input) that fills it where it is missing.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class CompatibilityTransform
{
    internal CompatibilityTransform(string targetPath, IReadOnlyList<string> segments, string expression, int line, int column)
    {
        TargetPath = targetPath;
        Segments = segments;
        Expression = expression;
        Line = line;
        Column = column;
    }

    /// <summary>Gets the input path the transform fills, as written.</summary>
    public string TargetPath { get; }

    /// <summary>Gets the names along the target path, unquoted.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>Gets the JMESPath expression evaluated over the whole input.</summary>
    public string Expression { get; }

    /// <summary>Gets the line of the transform in the spec, from 1.</summary>
    public int Line { get; }

    /// <summary>Gets the column of the transform in the spec, from 1.</summary>
    public int Column { get; }
}
