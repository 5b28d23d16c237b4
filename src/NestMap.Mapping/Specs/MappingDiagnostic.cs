using System.Globalization;

namespace NestMap.Mapping.Specs;

/// <summary>How serious a diagnostic is.</summary>
public enum DiagnosticSeverity
{
    /// <summary>The spec cannot be used.</summary>
    Error,

    /// <summary>The spec works but probably does not do what its author meant.</summary>
    Warning,
}

/// <summary>An error or warning about a mapping spec, with its code and place.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class MappingDiagnostic
{
    internal MappingDiagnostic(string code, string message, DiagnosticSeverity severity, string? source, int line, int column)
    {
        Code = code;
        Message = message;
        Severity = severity;
        Source = source;
        Line = line;
        Column = column;
    }

    /// <summary>Gets the stable code (<c>NM</c> and a number; see <see cref="MappingErrorCodes"/>).</summary>
    public string Code { get; }

    /// <summary>Gets the description.</summary>
    public string Message { get; }

    /// <summary>Gets whether this is an error or a warning.</summary>
    public DiagnosticSeverity Severity { get; }

    /// <summary>Gets the spec file, or the name given to a spec parsed from text; <see langword="null"/> when unnamed.</summary>
    public string? Source { get; }

    /// <summary>Gets the line, from 1 (0 when the diagnostic concerns the whole file).</summary>
    public int Line { get; }

    /// <summary>Gets the column, from 1 (0 when the diagnostic concerns the whole file).</summary>
    public int Column { get; }

    /// <summary>Formats the diagnostic as compilers do: <c>file(line,column): error NM002: message</c>.</summary>
    /// <returns>The formatted diagnostic.</returns>
    public override string ToString()
    {
        string place = Source ?? "<spec>";
        if (Line > 0)
        {
            place += string.Create(CultureInfo.InvariantCulture, $"({Line},{Column})");
        }

        return $"{place}: {(Severity == DiagnosticSeverity.Error ? "error" : "warning")} {Code}: {Message}";
    }
}
