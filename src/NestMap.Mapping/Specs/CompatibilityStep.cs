namespace NestMap.Mapping.Specs;

/// <summary>A compatibility step: transforms that let a spec accept inputs of an older version.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class CompatibilityStep
{
    internal CompatibilityStep(int from, IReadOnlyList<CompatibilityTransform> transforms, int line, int column)
    {
        From = from;
        Transforms = transforms;
        Line = line;
        Column = column;
    }

    /// <summary>Gets the input version this step adapts.</summary>
    public int From { get; }

    /// <summary>Gets the transforms, in the order of the spec.</summary>
    public IReadOnlyList<CompatibilityTransform> Transforms { get; }

    /// <summary>Gets the line of the step in the spec, from 1.</summary>
    public int Line { get; }

    /// <summary>Gets the column of the step in the spec, from 1.</summary>
    public int Column { get; }
}
