using NestMap.Mapping.Expressions;
using NestMap.Mapping.Specs.Internal;
using NJsonSchema;

namespace NestMap.Mapping.Specs;

/// <summary>Compiles a <see cref="MappingSpec"/> into a <see cref="CompiledMapping"/>, checking everything up front.</summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class MappingCompiler
{
    /// <summary>Compiles a spec: every expression and template under the spec's policy, and the output schema.</summary>
    /// <param name="spec">The spec.</param>
    /// <param name="options">How the mapping runs; <see langword="null"/> for <see cref="MappingOptions.Default"/>.</param>
    /// <returns>The compiled mapping, immutable and thread-safe.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="spec"/> is null.</exception>
    /// <exception cref="MappingSpecException">An expression does not compile (NM009) or the schema cannot be loaded (NM010);
    /// every problem is listed.</exception>
    public static CompiledMapping Compile(MappingSpec spec, MappingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= MappingOptions.Default;
        var diagnostics = new List<MappingDiagnostic>();
        var fields = new List<CompiledField>();

        // The fields' expressions are evaluated as one set against the same input: the leading fields they share are
        // looked up once per input. The set stops at its first invalid expression; only then is each expression
        // compiled alone, to report every failing field where it is (in field order, among the templates' errors).
        CompiledExpressionSet? expressions = null;
        ExpressionException? setError = null;
        try
        {
            expressions = JmesPath.CompileSet(spec.Fields.Where(f => f.Template is null).Select(f => f.Expression!), spec.Policy);
        }
        catch (ExpressionException e)
        {
            setError = e;
        }

        int member = 0, expressionErrors = 0;
        foreach (FieldSpec field in spec.Fields)
        {
            try
            {
                if (field.Template is not null)
                {
                    fields.Add(new CompiledField(field, -1, JmesPath.CompileTemplate(field.Template, spec.Policy)));
                    continue;
                }

                if (setError is not null)
                {
                    _ = JmesPath.Compile(field.Expression!, spec.Policy);
                }

                fields.Add(new CompiledField(field, member++, null));
            }
            catch (ExpressionException e)
            {
                expressionErrors += field.Template is null ? 1 : 0;
                diagnostics.Add(ExpressionDiagnostic(spec, $"field '{field.OutputPath}'", e, field.Line, field.Column));
            }
        }

        if (setError is not null && expressionErrors == 0)
        {
            // Every expression compiled alone where the set did not (a stack that ran out in between): its own error.
            FieldSpec field = spec.Fields.First(f => f.Template is null && f.Expression == setError.Expression);
            diagnostics.Add(ExpressionDiagnostic(spec, $"field '{field.OutputPath}'", setError, field.Line, field.Column));
        }

        var steps = new List<CompiledStep>();
        foreach (CompatibilityStep step in spec.Compatibility.OrderBy(s => s.From))
        {
            var transforms = new List<(CompatibilityTransform, CompiledExpression)>();
            foreach (CompatibilityTransform transform in step.Transforms)
            {
                try
                {
                    transforms.Add((transform, JmesPath.Compile(transform.Expression, spec.Policy)));
                }
                catch (ExpressionException e)
                {
                    diagnostics.Add(ExpressionDiagnostic(spec, $"transform '{transform.TargetPath}'", e, transform.Line, transform.Column));
                }
            }

            steps.Add(new CompiledStep(step.From, transforms));
        }

        JsonSchema? schema = null;
        if (spec.SchemaPath is not null)
        {
            schema = LoadSchema(spec, diagnostics);
        }

        if (diagnostics.Count > 0)
        {
            throw new MappingSpecException(diagnostics);
        }

        return new CompiledMapping(spec, options, fields, expressions!, steps, schema);
    }

    private static MappingDiagnostic ExpressionDiagnostic(MappingSpec spec, string what, ExpressionException e, int line, int column) =>
        new(MappingErrorCodes.InvalidExpression, $"{what}: {e.Message}", DiagnosticSeverity.Error, spec.Source, line, column);

    /// <summary>The first <c>$ref</c> that names a remote URL, if any.</summary>
    private static string? RemoteReference(string json)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json, new System.Text.Json.JsonDocumentOptions { MaxDepth = 256 });
            var pending = new Stack<System.Text.Json.JsonElement>();
            pending.Push(document.RootElement);
            while (pending.Count > 0)
            {
                System.Text.Json.JsonElement at = pending.Pop();
                if (at.ValueKind == System.Text.Json.JsonValueKind.Object)
                {
                    foreach (System.Text.Json.JsonProperty property in at.EnumerateObject())
                    {
                        if (property.Name == "$ref" && property.Value.ValueKind == System.Text.Json.JsonValueKind.String
                            && property.Value.GetString() is { } target && target.Contains("://", StringComparison.Ordinal))
                        {
                            return target;
                        }

                        pending.Push(property.Value);
                    }
                }
                else if (at.ValueKind == System.Text.Json.JsonValueKind.Array)
                {
                    foreach (System.Text.Json.JsonElement item in at.EnumerateArray())
                    {
                        pending.Push(item);
                    }
                }
            }

            return null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // NJsonSchema reports the malformed JSON.
        }
    }

    private static JsonSchema? LoadSchema(MappingSpec spec, List<MappingDiagnostic> diagnostics)
    {
        try
        {
            string path = spec.Source is null || Path.IsPathRooted(spec.SchemaPath!)
                ? spec.SchemaPath!
                : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(spec.Source)) ?? string.Empty, spec.SchemaPath!);
            string text = File.ReadAllText(path);
            if (RemoteReference(text) is { } remote)
            {
                // Compiling a spec must not reach the network: NJsonSchema would fetch the URL.
                throw new NotSupportedException($"it refers to '{remote}'; remote $ref is not followed (copy the schema next to the spec)");
            }

            return JsonSchema.FromJsonAsync(text, path).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Newtonsoft.Json.JsonException or InvalidOperationException or NotSupportedException
                                       or ArgumentException)
        {
            diagnostics.Add(new MappingDiagnostic(
                MappingErrorCodes.InvalidSchema,
                $"cannot load the output schema '{spec.SchemaPath}': {e.Message}",
                DiagnosticSeverity.Error,
                spec.Source,
                spec.SchemaAt.Line,
                spec.SchemaAt.Column));
            return null;
        }
    }
}
