namespace NestMap.Mapping.Specs;

/// <summary>Why a mapping failed: a code, a message, and the field or place concerned.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class MappingError
{
    internal MappingError(string code, string message, string? field)
    {
        Code = code;
        Message = message;
        Field = field;
    }

    /// <summary>Gets the stable code (see <see cref="MappingErrorCodes"/>).</summary>
    public string Code { get; }

    /// <summary>Gets the description.</summary>
    public string Message { get; }

    /// <summary>Gets the output path of the field concerned, or <see langword="null"/> for the input or the whole output.</summary>
    public string? Field { get; }

    /// <summary>Formats the error: <c>NM105 customer.name: message</c>.</summary>
    /// <returns>The formatted error.</returns>
    public override string ToString() => Field is null ? $"{Code}: {Message}" : $"{Code} {Field}: {Message}";
}
