namespace NestMap.Mapping.Specs;

/// <summary>The trace of one output field in one mapping.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class FieldTrace
{
    internal FieldTrace(string outputPath, FieldStatus status, string? errorCode, TimeSpan elapsed, long steps, IReadOnlyList<int> compatibilitySteps)
    {
        AppliedCompatibilitySteps = compatibilitySteps;
        OutputPath = outputPath;
        Status = status;
        ErrorCode = errorCode;
        Elapsed = elapsed;
        Steps = steps;
    }

    /// <summary>Gets the field's output path, as written in the spec.</summary>
    public string OutputPath { get; }

    /// <summary>Gets what happened.</summary>
    public FieldStatus Status { get; }

    /// <summary>Gets the error code when <see cref="Status"/> is <see cref="FieldStatus.Error"/>.</summary>
    public string? ErrorCode { get; }

    /// <summary>Gets how long the field took: its expression's evaluation, from the leading lookups it shares with other
    /// fields (made once per input, before the first field, and charged to none) onwards.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Gets the <c>from</c> versions of the compatibility steps applied to the input this field was mapped from.</summary>
    public IReadOnlyList<int> AppliedCompatibilitySteps { get; }

    /// <summary>Gets the evaluation steps the field's expression used (its work, as counted against
    /// <see cref="Expressions.ExpressionPolicy.MaxSteps"/>; not compatibility steps).</summary>
    public long Steps { get; }

    /// <summary>Returns a one-line description.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"{OutputPath}: {Status}{(ErrorCode is null ? string.Empty : " " + ErrorCode)}";
}
