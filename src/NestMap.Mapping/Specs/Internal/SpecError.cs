namespace NestMap.Mapping.Specs.Internal;

/// <summary>A problem found while reading a spec, at a place; the reader collects them into diagnostics.</summary>
internal sealed class SpecError : Exception
{
    public SpecError()
    {
        Code = MappingErrorCodes.YamlSyntax;
    }

    public SpecError(string message)
        : base(message)
    {
        Code = MappingErrorCodes.YamlSyntax;
    }

    public SpecError(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = MappingErrorCodes.YamlSyntax;
    }

    public SpecError(string code, string message, int line, int column)
        : base(message)
    {
        Code = code;
        Line = line;
        Column = column;
    }

    public string Code { get; }

    public int Line { get; }

    public int Column { get; }
}
