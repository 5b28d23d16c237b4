using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Expressions.Internal;
using NestMap.Mapping.Internal;

namespace NestMap.Mapping.Specs.Internal;

/// <summary>What a spec file says, once read and checked.</summary>
internal sealed record SpecContent(
    string Id,
    int Version,
    string? Description,
    ExpressionPolicy Policy,
    string? SchemaPath,
    IReadOnlyList<FieldSpec> Fields,
    IReadOnlyList<CompatibilityStep> Compatibility,
    IReadOnlyList<MappingDiagnostic> Warnings,
    string? Source,
    long MaxInputBytes,
    int MaxInputDepth,
    string Sha256)
{
    /// <summary>Gets where the spec names its output schema (line and column from 1; 0 when it names none), for diagnostics about the schema.</summary>
    public (int Line, int Column) SchemaAt { get; init; }
}

/// <summary>
/// Reads a spec strictly: every key known, none twice, every value of the right type. Problems are collected (as many
/// as can be found in one pass) and thrown together.
/// </summary>
/// <remarks>Not thread-safe; one instance per spec.</remarks>
internal sealed partial class SpecReader
{
    /// <summary>The most JSON values a default may expand to (aliases can multiply a small YAML text).</summary>
    public const int MaxDefaultValues = 10_000;

    private const long DefaultMaxInputBytes = 10L << 20;
    private const int DefaultMaxInputDepth = 64;

    private static readonly string[] s_topKeys = ["mapping", "version", "description", "policy", "output", "fields", "compatibility", "input"];
    private static readonly string[] s_policyKeys = ["roots", "maxDepth", "functions", "maxSteps"];
    private static readonly string[] s_outputKeys = ["schema"];
    private static readonly string[] s_fieldKeys = ["expr", "template", "default", "required"];
    private static readonly string[] s_stepKeys = ["from", "transform"];
    private static readonly string[] s_inputKeys = ["maxBytes", "maxDepth"];

    private readonly string? _source;
    private readonly List<MappingDiagnostic> _diagnostics = [];

    private SpecReader(string? source) => _source = source;

    public static MappingSpec Read(string text, string? source, string sha256)
    {
        var reader = new SpecReader(source);
        SpecContent? content = null;
        try
        {
            content = reader.ReadRoot(text, sha256);
        }
        catch (SpecError e)
        {
            reader.Error(e.Code, e.Message, e.Line, e.Column);
        }

        if (content is null || reader._diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
        {
            throw new MappingSpecException([.. reader._diagnostics.OrderBy(d => d.Line).ThenBy(d => d.Column)]);
        }

        return new MappingSpec(content);
    }

    private void Error(string code, string message, int line, int column) =>
        _diagnostics.Add(new MappingDiagnostic(code, message, DiagnosticSeverity.Error, _source, line, column));

    private void Error(string code, string message, YamlNode at) => Error(code, message, at.Line, at.Column);

    private void Warning(string code, string message, int line, int column) =>
        _diagnostics.Add(new MappingDiagnostic(code, message, DiagnosticSeverity.Warning, _source, line, column));

    private SpecContent? ReadRoot(string text, string sha256)
    {
        YamlNode? root = YamlTree.Parse(text);
        if (root is null || root.Kind != YamlKind.Mapping)
        {
            Error(MappingErrorCodes.WrongType, "a spec is a YAML mapping with the keys mapping, version and fields", root?.Line ?? 1, root?.Column ?? 1);
            return null;
        }

        Dictionary<string, YamlNode> top = Keys(root, s_topKeys, "spec");
        string? id = top.TryGetValue("mapping", out YamlNode? idNode) ? Name(idNode, "mapping") : Missing(root, "mapping");
        int version = top.TryGetValue("version", out YamlNode? versionNode) ? (int)(Integer(versionNode, "version", 0, int.MaxValue) ?? 0) : MissingNumber(root, "version");
        string? description = top.TryGetValue("description", out YamlNode? descriptionNode) ? Text(descriptionNode, "description") : null;
        ExpressionPolicy policy = top.TryGetValue("policy", out YamlNode? policyNode) ? Policy(policyNode) : new ExpressionPolicy();
        string? schema = null;
        (int Line, int Column) schemaAt = default;
        if (top.TryGetValue("output", out YamlNode? outputNode) && outputNode.Kind == YamlKind.Mapping)
        {
            Dictionary<string, YamlNode> output = Keys(outputNode, s_outputKeys, "output");
            if (output.TryGetValue("schema", out YamlNode? schemaNode))
            {
                schema = Text(schemaNode, "output.schema");
                schemaAt = (schemaNode.Line, schemaNode.Column);
            }
        }
        else if (outputNode is not null)
        {
            Error(MappingErrorCodes.WrongType, "'output' is a mapping (with 'schema')", outputNode);
        }

        long maxBytes = DefaultMaxInputBytes;
        int maxDepth = DefaultMaxInputDepth;
        if (top.TryGetValue("input", out YamlNode? inputNode))
        {
            if (inputNode.Kind != YamlKind.Mapping)
            {
                Error(MappingErrorCodes.WrongType, "'input' is a mapping (with 'maxBytes' and 'maxDepth')", inputNode);
            }
            else
            {
                Dictionary<string, YamlNode> input = Keys(inputNode, s_inputKeys, "input");
                maxBytes = input.TryGetValue("maxBytes", out YamlNode? b) ? Integer(b, "input.maxBytes", 1) ?? maxBytes : maxBytes;
                maxDepth = input.TryGetValue("maxDepth", out YamlNode? d) ? (int)(Integer(d, "input.maxDepth", 1, 1000) ?? maxDepth) : maxDepth;
            }
        }

        List<FieldSpec> fields = top.TryGetValue("fields", out YamlNode? fieldsNode) ? Fields(fieldsNode) : [];
        if (fieldsNode is null)
        {
            Missing(root, "fields");
        }

        List<CompatibilityStep> steps = top.TryGetValue("compatibility", out YamlNode? compatibilityNode) ? Compatibility(compatibilityNode, version) : [];
        CheckOutputPaths(fields);
        return id is null
            ? null
            : new SpecContent(id, version, description, policy, schema, fields, steps, [.. _diagnostics.Where(d => d.Severity == DiagnosticSeverity.Warning)], _source, maxBytes, maxDepth, sha256)
            {
                SchemaAt = schemaAt,
            };
    }

    /// <summary>The pairs of a mapping by key, after reporting unknown and duplicate keys.</summary>
    private Dictionary<string, YamlNode> Keys(YamlNode mapping, string[] known, string where)
    {
        var found = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach ((YamlNode key, YamlNode value) in mapping.Pairs)
        {
            if (key.Kind != YamlKind.Scalar)
            {
                Error(MappingErrorCodes.WrongType, $"the keys of '{where}' are names", key);
                continue;
            }

            if (!known.Contains(key.Value, StringComparer.Ordinal))
            {
                string? near = Spelling.Nearest(key.Value, known);
                Error(
                    MappingErrorCodes.UnknownKey,
                    $"unknown key '{key.Value}' in {where}" + (near is null ? $"; known keys: {string.Join(", ", known)}" : $"; did you mean '{near}'?"),
                    key);
                continue;
            }

            if (!found.TryAdd(key.Value, value))
            {
                Error(MappingErrorCodes.DuplicateKey, $"duplicate key '{key.Value}' in {where}", key);
            }
        }

        return found;
    }

    private string? Missing(YamlNode at, string key)
    {
        Error(MappingErrorCodes.MissingKey, $"missing required key '{key}'", at);
        return null;
    }

    private int MissingNumber(YamlNode at, string key)
    {
        Missing(at, key);
        return 0;
    }

    private string? Text(YamlNode node, string what)
    {
        if (node.Kind != YamlKind.Scalar)
        {
            Error(MappingErrorCodes.WrongType, $"'{what}' is a string, not a {Describe(node)}", node);
            return null;
        }

        return node.Value;
    }

    private string? Name(YamlNode node, string what)
    {
        string? text = Text(node, what);
        if (text is not null && (text.Length == 0 || text.Any(char.IsWhiteSpace)))
        {
            Error(MappingErrorCodes.WrongType, $"'{what}' is a name without spaces", node);
            return null;
        }

        return text;
    }

    private long? Integer(YamlNode node, string what, long min, long max = long.MaxValue)
    {
        if (node.Kind != YamlKind.Scalar || !node.Plain
            || !long.TryParse(node.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
        {
            Error(MappingErrorCodes.WrongType, $"'{what}' is a whole number, not {Shown(node)}", node);
            return null;
        }

        if (value < min || value > max)
        {
            Error(MappingErrorCodes.WrongType, $"'{what}' must be between {min} and {max}, not {value}", node);
            return null;
        }

        return value;
    }

    private bool? Boolean(YamlNode node, string what)
    {
        if (node.Kind == YamlKind.Scalar && node.Plain && node.Value is "true" or "false")
        {
            return node.Value == "true";
        }

        Error(MappingErrorCodes.WrongType, $"'{what}' is true or false, not {Shown(node)}", node);
        return null;
    }

    private List<string>? Names(YamlNode node, string what)
    {
        if (node.Kind != YamlKind.Sequence)
        {
            Error(MappingErrorCodes.WrongType, $"'{what}' is a list of names, not {Shown(node)}", node);
            return null;
        }

        var names = new List<string>();
        foreach (YamlNode item in node.Items)
        {
            if (Name(item, what + " item") is { } name)
            {
                names.Add(name);
            }
        }

        return names;
    }

    private ExpressionPolicy Policy(YamlNode node)
    {
        if (node.Kind != YamlKind.Mapping)
        {
            Error(MappingErrorCodes.WrongType, "'policy' is a mapping (roots, maxDepth, functions, maxSteps)", node);
            return new ExpressionPolicy();
        }

        Dictionary<string, YamlNode> keys = Keys(node, s_policyKeys, "policy");
        List<string>? roots = keys.TryGetValue("roots", out YamlNode? r) ? Names(r, "policy.roots") : null;
        List<string>? functions = keys.TryGetValue("functions", out YamlNode? f) ? Names(f, "policy.functions") : null;
        if (functions is not null)
        {
            foreach (string name in functions.Where(n => !FunctionTable.All.ContainsKey(n)))
            {
                string? near = Spelling.Nearest(name, FunctionTable.All.Keys);
                Error(MappingErrorCodes.UnknownKey, $"unknown function '{name}' in policy.functions" + (near is null ? string.Empty : $"; did you mean '{near}'?"), f!);
            }
        }

        long? depth = keys.TryGetValue("maxDepth", out YamlNode? d) ? Integer(d, "policy.maxDepth", 1, 100) : null;
        long? steps = keys.TryGetValue("maxSteps", out YamlNode? s) ? Integer(s, "policy.maxSteps", 1) : null;
        var defaults = new ExpressionPolicy();
        return new ExpressionPolicy
        {
            AllowedRoots = roots,
            AllowedFunctions = functions,
            MaxPathDepth = (int)(depth ?? defaults.MaxPathDepth),
            MaxSteps = steps ?? defaults.MaxSteps,
        };
    }

    private List<FieldSpec> Fields(YamlNode node)
    {
        var fields = new List<FieldSpec>();
        if (node.Kind != YamlKind.Mapping)
        {
            Error(MappingErrorCodes.WrongType, "'fields' is a mapping of output path to expression", node);
            return fields;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach ((YamlNode key, YamlNode value) in node.Pairs)
        {
            if (key.Kind != YamlKind.Scalar)
            {
                Error(MappingErrorCodes.WrongType, "an output path is a string", key);
                continue;
            }

            if (!seen.Add(key.Value))
            {
                Error(MappingErrorCodes.DuplicateKey, $"duplicate field '{key.Value}'", key);
                continue;
            }

            if (!OutputPath.TryParse(key.Value, out List<string> segments, out string pathError))
            {
                Error(MappingErrorCodes.InvalidOutputPath, $"invalid output path '{key.Value}': {pathError}", key);
                continue;
            }

            if (Field(key, value, segments) is { } field)
            {
                fields.Add(field);
            }
        }

        return fields;
    }

    private FieldSpec? Field(YamlNode key, YamlNode value, List<string> segments)
    {
        string path = key.Value;
        if (value.Kind == YamlKind.Scalar)
        {
            if (value.Value.Length == 0)
            {
                Error(MappingErrorCodes.MissingKey, $"field '{path}' has no expression", value);
                return null;
            }

            Lint(value.Value, value);
            return new FieldSpec(path, segments, value.Value, null, false, null, false, key.Line, key.Column);
        }

        if (value.Kind != YamlKind.Mapping)
        {
            Error(MappingErrorCodes.WrongType, $"field '{path}' is an expression or a mapping with expr or template", value);
            return null;
        }

        Dictionary<string, YamlNode> keys = Keys(value, s_fieldKeys, $"field '{path}'");
        string? expression = keys.TryGetValue("expr", out YamlNode? e) ? Text(e, path + ".expr") : null;
        string? template = keys.TryGetValue("template", out YamlNode? t) ? Text(t, path + ".template") : null;
        if ((expression is null) == (template is null))
        {
            Error(
                expression is null ? MappingErrorCodes.MissingKey : MappingErrorCodes.WrongType,
                $"field '{path}' needs exactly one of 'expr' and 'template'",
                value);
            return null;
        }

        if (expression is not null)
        {
            Lint(expression, e!);
        }

        bool hasDefault = keys.TryGetValue("default", out YamlNode? d);
        JsonNode? defaultValue = null;
        if (hasDefault)
        {
            int budget = MaxDefaultValues;
            try
            {
                defaultValue = ToJson(d!, ref budget, 0);
            }
            catch (SpecError error)
            {
                Error(error.Code, error.Message, error.Line, error.Column);
                return null;
            }
        }

        bool required = keys.TryGetValue("required", out YamlNode? r) && (Boolean(r, path + ".required") ?? false);
        return new FieldSpec(path, segments, expression, template, hasDefault, defaultValue, required, key.Line, key.Column);
    }

    private List<CompatibilityStep> Compatibility(YamlNode node, int version)
    {
        var steps = new List<CompatibilityStep>();
        if (node.Kind != YamlKind.Sequence)
        {
            Error(MappingErrorCodes.WrongType, "'compatibility' is a list of steps (from, transform)", node);
            return steps;
        }

        var versions = new HashSet<long>();
        foreach (YamlNode item in node.Items)
        {
            if (item.Kind != YamlKind.Mapping)
            {
                Error(MappingErrorCodes.WrongType, "a compatibility step is a mapping with 'from' and 'transform'", item);
                continue;
            }

            Dictionary<string, YamlNode> keys = Keys(item, s_stepKeys, "compatibility step");
            long? from = null;
            if (keys.TryGetValue("from", out YamlNode? f))
            {
                from = Integer(f, "from", 0, int.MaxValue);
            }
            else
            {
                Missing(item, "from");
            }

            if (from is { } v && f is not null && (v >= version || !versions.Add(v)))
            {
                Error(MappingErrorCodes.InvalidCompatibility, v >= version ? $"'from: {v}' must be below the spec's version {version}" : $"a second step from version {v}", f);
            }

            var transforms = new List<CompatibilityTransform>();
            if (!keys.TryGetValue("transform", out YamlNode? t))
            {
                Missing(item, "transform");
            }
            else if (t.Kind != YamlKind.Mapping)
            {
                Error(MappingErrorCodes.WrongType, "'transform' is a mapping of input path to expression", t);
            }
            else
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach ((YamlNode target, YamlNode expression) in t.Pairs)
                {
                    if (target.Kind != YamlKind.Scalar || expression.Kind != YamlKind.Scalar)
                    {
                        Error(MappingErrorCodes.WrongType, "a transform maps an input path to an expression", target);
                        continue;
                    }

                    if (!seen.Add(target.Value))
                    {
                        Error(MappingErrorCodes.DuplicateKey, $"duplicate transform '{target.Value}'", target);
                        continue;
                    }

                    if (!OutputPath.TryParse(target.Value, out List<string> segments, out string pathError))
                    {
                        Error(MappingErrorCodes.InvalidOutputPath, $"invalid input path '{target.Value}': {pathError}", target);
                        continue;
                    }

                    Lint(expression.Value, expression);
                    transforms.Add(new CompatibilityTransform(target.Value, segments, expression.Value, target.Line, target.Column));
                }
            }

            if (from is not null)
            {
                steps.Add(new CompatibilityStep((int)from, transforms, item.Line, item.Column));
            }
        }

        return steps;
    }

    /// <summary>Two fields may not write the same path, nor one inside the other's value.</summary>
    private void CheckOutputPaths(List<FieldSpec> fields)
    {
        var byPath = new Dictionary<string, FieldSpec>(StringComparer.Ordinal);
        foreach (FieldSpec field in fields)
        {
            string key = Key(field.Segments, field.Segments.Count);
            if (byPath.TryGetValue(key, out FieldSpec? same))
            {
                Error(MappingErrorCodes.ConflictingOutputPaths, $"field '{field.OutputPath}' writes the same output as '{same.OutputPath}' (line {same.Line})", field.Line, field.Column);
                continue;
            }

            byPath[key] = field;
        }

        foreach (FieldSpec field in fields)
        {
            for (int n = 1; n < field.Segments.Count; n++)
            {
                if (byPath.TryGetValue(Key(field.Segments, n), out FieldSpec? outer))
                {
                    Error(
                        MappingErrorCodes.ConflictingOutputPaths,
                        $"field '{field.OutputPath}' writes inside the value of field '{outer.OutputPath}' (line {outer.Line})",
                        field.Line,
                        field.Column);
                    break;
                }
            }
        }

        static string Key(IReadOnlyList<string> segments, int count) => string.Join('\u0000', segments.Take(count));
    }

    /// <summary>Warns where a double-quoted identifier stands where a string literal was probably meant.</summary>
    private void Lint(string expression, YamlNode at)
    {
        List<Token> tokens;
        try
        {
            tokens = Lexer.Tokenize(expression, 0, expression.Length, legacyLiterals: false, []);
        }
        catch (ExpressionException)
        {
            return; // The compiler reports it.
        }

        for (int i = 0; i < tokens.Count; i++)
        {
            if (tokens[i].Kind != TokenKind.QuotedIdentifier)
            {
                continue;
            }

            TokenKind before = i > 0 ? tokens[i - 1].Kind : TokenKind.Eof;
            TokenKind after = tokens[i + 1].Kind;
            bool operand = before is TokenKind.Or or TokenKind.Coalesce or TokenKind.Eq or TokenKind.Ne or TokenKind.Lt or TokenKind.Lte or TokenKind.Gt or TokenKind.Gte
                || after is TokenKind.Eq or TokenKind.Ne;
            if (operand && after is not (TokenKind.Dot or TokenKind.LBracket or TokenKind.Filter or TokenKind.Flatten))
            {
                string name = tokens[i].Text!;
                Warning(
                    MappingErrorCodes.QuotedIdentifierLint,
                    $"\"{name}\" selects the input field named {name}; for the string, write '{name}'",
                    at.Line,
                    at.Column);
            }
        }
    }

    /// <summary>Converts a YAML value to JSON (YAML 1.2 core schema for plain scalars), counting every value produced.</summary>
    private static JsonNode? ToJson(YamlNode node, ref int budget, int depth)
    {
        if (--budget < 0)
        {
            throw new SpecError(MappingErrorCodes.SpecTooLarge, $"a default value expands to more than {MaxDefaultValues} values", node.Line, node.Column);
        }

        if (depth > YamlTree.MaxDepth)
        {
            throw new SpecError(MappingErrorCodes.SpecTooLarge, $"a default value nests deeper than {YamlTree.MaxDepth} levels", node.Line, node.Column);
        }

        switch (node.Kind)
        {
            case YamlKind.Sequence:
                {
                    var array = new JsonArray();
                    foreach (YamlNode item in node.Items)
                    {
                        array.Add(ToJson(item, ref budget, depth + 1));
                    }

                    return array;
                }

            case YamlKind.Mapping:
                {
                    var obj = new JsonObject();
                    foreach ((YamlNode key, YamlNode value) in node.Pairs)
                    {
                        if (key.Kind != YamlKind.Scalar)
                        {
                            throw new SpecError(MappingErrorCodes.WrongType, "the keys of a default object are strings", key.Line, key.Column);
                        }

                        if (obj.ContainsKey(key.Value))
                        {
                            throw new SpecError(MappingErrorCodes.DuplicateKey, $"duplicate key '{key.Value}' in a default value", key.Line, key.Column);
                        }

                        obj[key.Value] = ToJson(value, ref budget, depth + 1);
                    }

                    return obj;
                }

            default:
                return Scalar(node);
        }
    }

    private static JsonNode? Scalar(YamlNode node)
    {
        if (!node.Plain)
        {
            return JsonValue.Create(node.Value);
        }

        string v = node.Value;
        if (v is "" or "~" or "null" or "Null" or "NULL")
        {
            return null;
        }

        if (v is "true" or "True" or "TRUE")
        {
            return JsonValue.Create(true);
        }

        if (v is "false" or "False" or "FALSE")
        {
            return JsonValue.Create(false);
        }

        if (IntegerPattern().IsMatch(v) && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer))
        {
            return JsonValue.Create(integer);
        }

        // YAML 1.2 core schema: hexadecimal and octal integers too.
        if (v.Length > 2 && v[0] == '0' && v[1] is 'x' or 'o')
        {
            NumberStyles style = v[1] == 'x' ? NumberStyles.AllowHexSpecifier : NumberStyles.None;
            if (v[1] == 'x' && long.TryParse(v.AsSpan(2), style, CultureInfo.InvariantCulture, out long hex))
            {
                return JsonValue.Create(hex);
            }

            if (v[1] == 'o' && v.AsSpan(2).IndexOfAnyExceptInRange('0', '7') < 0 && v.Length <= 23)
            {
                return JsonValue.Create(Convert.ToInt64(v[2..], 8));
            }
        }

        if (FloatPattern().IsMatch(v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double number))
        {
            return double.IsFinite(number)
                ? JsonNode.Parse(number.ToString("R", CultureInfo.InvariantCulture))
                : throw new SpecError(MappingErrorCodes.WrongType, $"the number {v} is beyond what JSON can hold; quote it for a string", node.Line, node.Column);
        }

        if (v is ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF" or "-.inf" or "-.Inf" or "-.INF" or ".nan" or ".NaN" or ".NAN")
        {
            throw new SpecError(MappingErrorCodes.WrongType, $"{v} is not a JSON number; quote it for a string", node.Line, node.Column);
        }

        return JsonValue.Create(v);
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();

    private static string Describe(YamlNode node) => node.Kind switch
    {
        YamlKind.Mapping => "mapping",
        YamlKind.Sequence => "list",
        _ => "scalar",
    };

    private static string Shown(YamlNode node) => node.Kind == YamlKind.Scalar ? $"'{node.Value}'" : "a " + Describe(node);
}
