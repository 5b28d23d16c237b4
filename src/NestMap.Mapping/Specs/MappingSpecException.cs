namespace NestMap.Mapping.Specs;

/// <summary>A mapping spec could not be loaded or compiled; <see cref="Diagnostics"/> lists every problem found, each with its code and place.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class MappingSpecException : Exception
{
    /// <summary>Initializes a new instance with a default message.</summary>
    public MappingSpecException()
        : this("The mapping spec is invalid.")
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public MappingSpecException(string message)
        : base(message)
    {
        Diagnostics = [];
    }

    /// <summary>Initializes a new instance with a message and its cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MappingSpecException(string message, Exception innerException)
        : base(message, innerException)
    {
        Diagnostics = [];
    }

    internal MappingSpecException(IReadOnlyList<MappingDiagnostic> diagnostics)
        : base(string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString())))
    {
        Diagnostics = diagnostics;
    }

    /// <summary>Gets the problems found, errors and warnings, in the order of the file.</summary>
    public IReadOnlyList<MappingDiagnostic> Diagnostics { get; }
}
