namespace NestMap.Mapping.Specs;

/// <summary>The stable codes of mapping errors and warnings; <c>docs/errors.md</c> explains each.</summary>
public static class MappingErrorCodes
{
    /// <summary>The spec is not valid YAML (or holds several documents).</summary>
    public const string YamlSyntax = "NM001";

    /// <summary>A key the spec format does not know (the message suggests the nearest known key).</summary>
    public const string UnknownKey = "NM002";

    /// <summary>A key appears twice in one mapping.</summary>
    public const string DuplicateKey = "NM003";

    /// <summary>A value has the wrong type (a list where a name was expected, a word where a number was expected...).</summary>
    public const string WrongType = "NM004";

    /// <summary>A required key is missing (<c>mapping</c>, <c>version</c>, <c>fields</c>, a field's <c>expr</c> or <c>template</c>).</summary>
    public const string MissingKey = "NM005";

    /// <summary>The spec is too large: file size, YAML nesting, aliases, or a default value expanding past its limit.</summary>
    public const string SpecTooLarge = "NM006";

    /// <summary>An output path is malformed (empty segment, unterminated quote).</summary>
    public const string InvalidOutputPath = "NM007";

    /// <summary>Two fields write the same output path, or one writes inside another's value.</summary>
    public const string ConflictingOutputPaths = "NM008";

    /// <summary>An expression or template of the spec does not compile (the message carries its NESTMAP1xx code).</summary>
    public const string InvalidExpression = "NM009";

    /// <summary>The output schema file cannot be read or is not a JSON Schema.</summary>
    public const string InvalidSchema = "NM010";

    /// <summary>Warning: a double-quoted identifier where a string literal was probably meant (<c>|| "STANDARD"</c>).</summary>
    public const string QuotedIdentifierLint = "NM011";

    /// <summary>A compatibility step is malformed (a <c>from</c> not below the spec's version, a repeated one).</summary>
    public const string InvalidCompatibility = "NM012";

    /// <summary>The input is not valid JSON.</summary>
    public const string InvalidInput = "NM101";

    /// <summary>The input is larger than the mapping accepts.</summary>
    public const string InputTooLarge = "NM102";

    /// <summary>The input nests deeper than the mapping accepts.</summary>
    public const string InputTooDeep = "NM103";

    /// <summary>An object of the input has the same property name twice.</summary>
    public const string DuplicateInputProperty = "NM104";

    /// <summary>A required field has no value and no default.</summary>
    public const string RequiredFieldMissing = "NM105";

    /// <summary>A field's expression failed while evaluating (the message carries its NESTMAP1xx code).</summary>
    public const string FieldEvaluationFailed = "NM106";

    /// <summary>The output does not satisfy the spec's JSON Schema.</summary>
    public const string SchemaViolation = "NM107";

    /// <summary>A compatibility transform failed while evaluating.</summary>
    public const string CompatibilityFailed = "NM108";

    /// <summary>The spec file cannot be read (or a path given for specs does not exist).</summary>
    public const string UnreadableSpec = "NM013";

    /// <summary>An input file or folder given to the <c>nestmap</c> tool cannot be read.</summary>
    public const string UnreadableInput = "NM109";
}
