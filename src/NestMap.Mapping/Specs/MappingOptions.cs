namespace NestMap.Mapping.Specs;

/// <summary>How a <see cref="CompiledMapping"/> runs: tracing, output validation, the clock for traces.</summary>
/// <remarks>Immutable once built (init-only); safe to share.</remarks>
public sealed class MappingOptions
{
    /// <summary>The options used when none are given: no trace, no output validation.</summary>
    public static MappingOptions Default { get; } = new();

    /// <summary>Gets whether each result carries one <see cref="FieldTrace"/> per field.</summary>
    /// <value>Default <see langword="false"/>; off, tracing costs nothing (no clock read, no allocation).</value>
    public bool Trace { get; init; }

    /// <summary>Gets whether each output is validated against the spec's JSON Schema (when it has one).</summary>
    /// <value>Default <see langword="false"/>.</value>
    public bool ValidateOutput { get; init; }

    /// <summary>Gets the clock that times traced fields.</summary>
    /// <value>Default <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
