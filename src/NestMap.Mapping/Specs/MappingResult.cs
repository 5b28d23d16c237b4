using System.Text;

namespace NestMap.Mapping.Specs;

/// <summary>The result of one mapping: the output, whether it succeeded and why not, and the field traces.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class MappingResult
{
    internal MappingResult(ReadOnlyMemory<byte> output, IReadOnlyList<MappingError> errors, IReadOnlyList<FieldTrace> traces, IReadOnlyList<int> appliedSteps)
    {
        Output = output;
        Errors = errors;
        Traces = traces;
        AppliedCompatibilitySteps = appliedSteps;
    }

    /// <summary>Gets whether the mapping succeeded (no errors).</summary>
    public bool Success => Errors.Count == 0;

    /// <summary>Gets the output JSON, UTF-8; empty when the input could not be read.</summary>
    public ReadOnlyMemory<byte> Output { get; }

    /// <summary>Gets the output JSON as text.</summary>
    public string OutputText => Encoding.UTF8.GetString(Output.Span);

    /// <summary>Gets the errors, in field order (input errors first).</summary>
    public IReadOnlyList<MappingError> Errors { get; }

    /// <summary>Gets one trace per field when tracing is on (<see cref="MappingOptions.Trace"/>); empty otherwise.</summary>
    public IReadOnlyList<FieldTrace> Traces { get; }

    /// <summary>Gets how many fields found no value (left out or defaulted).</summary>
    public int NoDataFields { get; init; }

    /// <summary>Gets how many fields failed.</summary>
    public int FailedFields { get; init; }

    /// <summary>Gets the <c>from</c> versions of the compatibility steps that changed the input, in order.</summary>
    public IReadOnlyList<int> AppliedCompatibilitySteps { get; }
}
