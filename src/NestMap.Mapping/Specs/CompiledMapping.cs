using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Specs.Internal;
using NJsonSchema;

namespace NestMap.Mapping.Specs;

/// <summary>A compiled mapping spec, made by <see cref="MappingCompiler.Compile"/>: maps inputs to outputs.</summary>
/// <remarks>
/// <para>Each call: reads the input within the spec's limits (size, nesting, no duplicate property names), applies the
/// compatibility steps where their target paths are missing, evaluates every field, writes the output object (fields
/// in spec order, dotted paths as nested objects, missing values left out or defaulted), and validates it against the
/// schema when asked. Errors do not stop the other fields: all are reported.</para>
/// <para>Observability without extra code: an <see cref="ActivitySource"/> named <c>NestMap.Mapping</c> (one activity
/// per call, none per field) and a meter of the same name (see <c>docs/metrics.md</c>).</para>
/// <para>Immutable and thread-safe: map from any number of threads at once.</para>
/// </remarks>
public sealed class CompiledMapping
{
    // The output is JSON data, not HTML: non-ASCII letters and characters such as <, & and + stay as they are
    // (System.Text.Json's default encoder would write "M\u00FCller" and "\u002B1").
    private const string UnreadableInputText = "the input holds a member name with a lone surrogate escape (\\uD800 to \\uDFFF not in a pair), which cannot be read";
    private const string InvalidInputText = "the input holds a lone surrogate escape (\\uD800 to \\uDFFF not in a pair), which cannot be copied";

    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CompiledField[] _fields;
    private readonly CompiledExpressionSet _expressions;
    private readonly CompiledStep[] _steps;
    private readonly JsonSchema? _schema;
    private readonly OutputNode _output;
    private readonly string _activityName;
    private int _lastOutputSize;

    internal CompiledMapping(MappingSpec spec, MappingOptions options, List<CompiledField> fields, CompiledExpressionSet expressions, List<CompiledStep> steps, JsonSchema? schema)
    {
        Spec = spec;
        Options = options;
        _fields = [.. fields];
        _expressions = expressions;
        _steps = [.. steps];
        _schema = schema;
        _output = OutputNode.Build(_fields);
        _activityName = "map " + spec.Id;
    }

    /// <summary>Gets the spec this mapping was compiled from.</summary>
    public MappingSpec Spec { get; }

    /// <summary>Gets the options the mapping runs with.</summary>
    public MappingOptions Options { get; }

    /// <summary>Maps an input given as UTF-8 JSON, checking the spec's input limits first.</summary>
    /// <param name="utf8Json">The input.</param>
    /// <returns>The result; input errors (NM101–NM104) are reported in it, not thrown.</returns>
    public MappingResult Map(ReadOnlyMemory<byte> utf8Json)
    {
        using Activity? activity = MappingTelemetry.Source.StartActivity(_activityName);
        long? started = MappingTelemetry.Duration.Enabled ? Options.TimeProvider.GetTimestamp() : null;
        if (utf8Json.Length > Spec.MaxInputBytes)
        {
            return Finish(activity, started, InputError(MappingErrorCodes.InputTooLarge, $"the input is {utf8Json.Length} bytes; the mapping accepts at most {Spec.MaxInputBytes}"));
        }

        JsonDocument document;
        try
        {
            // The document reads the caller's memory in place (no copy); it lives only for this call.
            document = JsonDocument.Parse(utf8Json, new JsonDocumentOptions { MaxDepth = Spec.MaxInputDepth, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            return Finish(activity, started, InputError(ClassifyInputError(utf8Json.Span, Spec.MaxInputDepth, e, out string message), message));
        }
        catch (InvalidOperationException)
        {
            // Checking names for duplicates decodes them, and a name with a lone surrogate escape cannot be decoded.
            return Finish(activity, started, InputError(MappingErrorCodes.InvalidInput, UnreadableInputText));
        }

        using (document)
        {
            return Finish(activity, started, MapCore(document.RootElement));
        }
    }

    /// <summary>Maps an input you parsed yourself (its size, depth and duplicate names are taken as they are).</summary>
    /// <param name="input">The input.</param>
    /// <returns>The result.</returns>
    public MappingResult Map(JsonElement input)
    {
        using Activity? activity = MappingTelemetry.Source.StartActivity(_activityName);
        long? started = MappingTelemetry.Duration.Enabled ? Options.TimeProvider.GetTimestamp() : null;
        return Finish(activity, started, MapCore(input));
    }

    private MappingResult Finish(Activity? activity, long? started, MappingResult result)
    {
        if (activity is not null)
        {
            activity.SetTag("nestmap.mapping.id", Spec.Id);
            activity.SetTag("nestmap.mapping.version", Spec.Version);
            activity.SetTag("nestmap.mapping.errors", result.Errors.Count);
            activity.SetTag("nestmap.mapping.fields.nodata", result.NoDataFields);
            activity.SetTag("nestmap.mapping.fields.failed", result.FailedFields);
            if (!result.Success)
            {
                activity.SetStatus(ActivityStatusCode.Error, result.Errors[0].ToString());
            }
        }

        MappingTelemetry.Record(this, result, started);
        return result;
    }

    private static MappingResult InputError(string code, string message) =>
        new(ReadOnlyMemory<byte>.Empty, [new MappingError(code, message, null)], [], []);

    private MappingResult MapCore(JsonElement input)
    {
        var errors = new List<MappingError>();
        List<int> applied = [];
        JsonDocument? adapted = null;
        try
        {
            if (_steps.Length > 0)
            {
                adapted = ApplyCompatibility(input, applied, errors);
                if (adapted is not null)
                {
                    input = adapted.RootElement;
                }
            }

            bool trace = Options.Trace;
            TimeProvider clock = Options.TimeProvider;
            var values = new FieldValue[_fields.Length];
            FieldTrace[] traces = trace ? new FieldTrace[_fields.Length] : [];

            // Looks up the leading fields that several fields' expressions share, once for all of them (never fails:
            // a lookup that cannot be made fails the fields that reach it, when they are evaluated).
            ExpressionSetEvaluation expressions = _expressions.Evaluate(input);

            // Tracing reads the clock once per field boundary (the end of a field is the start of the next) and builds
            // the traces afterwards, so that no field's time includes the clock reads or the trace of another.
            long[]? stamps = trace ? new long[_fields.Length + 1] : null;
            if (stamps is not null)
            {
                stamps[0] = clock.GetTimestamp();
            }

            for (int i = 0; i < _fields.Length; i++)
            {
                values[i] = Evaluate(_fields[i], input, expressions, errors);
                if (stamps is not null)
                {
                    stamps[i + 1] = clock.GetTimestamp();
                }
            }

            if (stamps is not null)
            {
                for (int i = 0; i < _fields.Length; i++)
                {
                    traces[i] = new FieldTrace(_fields[i].Spec.OutputPath, values[i].Status, values[i].ErrorCode, clock.GetElapsedTime(stamps[i], stamps[i + 1]), values[i].Steps, applied);
                }
            }

            ArrayBufferWriter<byte> buffer;
            try
            {
                buffer = Write(values);
            }
            catch (ExpressionException)
            {
                // A value can fail only when written out (more values than the result budget, a lone surrogate escape
                // in a selected string): find the fields whose values do, fail them, and write the others.
                FailUnwritable(values, traces, errors);
                buffer = Write(values);
            }

            if (Options.ValidateOutput && _schema is not null)
            {
                Validate(buffer.WrittenMemory, errors);
            }

            int noData = 0, failed = 0;
            bool count = MappingTelemetry.FieldOutcomes.Enabled;
            for (int i = 0; i < values.Length; i++)
            {
                noData += values[i].Status is FieldStatus.NoData or FieldStatus.Defaulted ? 1 : 0;
                failed += values[i].Status == FieldStatus.Error ? 1 : 0;
                if (count)
                {
                    MappingTelemetry.CountField(Spec.Id, _fields[i].Spec.OutputPath, values[i].Status);
                }
            }

            Volatile.Write(ref _lastOutputSize, buffer.WrittenCount);
            return new MappingResult(buffer.WrittenMemory, errors, traces, applied) { NoDataFields = noData, FailedFields = failed };
        }
        finally
        {
            adapted?.Dispose();
        }
    }

    private ArrayBufferWriter<byte> Write(FieldValue[] values)
    {
        // Each result owns its output buffer; starting it at the size of the last output saves the growth copies.
        // (A racing call may read an older size: any size is correct, only the copies differ.)
        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, Volatile.Read(ref _lastOutputSize)));
        using var writer = new Utf8JsonWriter(buffer, s_writerOptions);
        _output.Write(writer, values);
        writer.Flush();
        return buffer;
    }

    private void FailUnwritable(FieldValue[] values, FieldTrace[] traces, List<MappingError> errors)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!values[i].HasValue)
            {
                continue;
            }

            try
            {
                using var writer = new Utf8JsonWriter(Stream.Null, s_writerOptions);
                values[i].WriteTo(writer);
            }
            catch (ExpressionException e)
            {
                errors.Add(new MappingError(MappingErrorCodes.FieldEvaluationFailed, e.Message, _fields[i].Spec.OutputPath));
                values[i] = FieldValue.Failed(MappingErrorCodes.FieldEvaluationFailed, values[i].Steps);
                if (traces.Length > 0)
                {
                    FieldTrace t = traces[i];
                    traces[i] = new FieldTrace(t.OutputPath, FieldStatus.Error, MappingErrorCodes.FieldEvaluationFailed, t.Elapsed, t.Steps, t.AppliedCompatibilitySteps);
                }
            }
        }
    }

    private static FieldValue Evaluate(CompiledField field, JsonElement input, ExpressionSetEvaluation expressions, List<MappingError> errors)
    {
        FieldSpec spec = field.Spec;
        try
        {
            bool missing;
            JsonNode? text = null;
            ExpressionValue value = default;
            long steps = 0;
            if (field.Template is not null)
            {
                string rendered = field.Template.Render(input, out int missingPlaceholders);
                missing = field.Template.Placeholders.Count > 0 && missingPlaceholders == field.Template.Placeholders.Count;
                text = JsonValue.Create(rendered);
            }
            else
            {
                value = expressions.EvaluateValue(field.Member);
                missing = value.IsMissing;
                steps = value.Steps;
            }

            if (!missing)
            {
                return text is not null ? FieldValue.Node(text, FieldStatus.Ok, steps) : FieldValue.Of(value, steps);
            }

            if (spec.HasDefault)
            {
                return FieldValue.Node(spec.DefaultNode, FieldStatus.Defaulted, steps);
            }

            if (spec.Required)
            {
                errors.Add(new MappingError(MappingErrorCodes.RequiredFieldMissing, "the field is required and its expression found no value", spec.OutputPath));
                return FieldValue.Failed(MappingErrorCodes.RequiredFieldMissing, steps);
            }

            return FieldValue.NoData(steps);
        }
        catch (ExpressionException e)
        {
            errors.Add(new MappingError(MappingErrorCodes.FieldEvaluationFailed, e.Message, spec.OutputPath));
            return FieldValue.Failed(MappingErrorCodes.FieldEvaluationFailed, 0);
        }
    }

    /// <summary>
    /// Applies the compatibility steps, oldest first, each transform only where its target path is missing; returns the
    /// adapted input, or null when no step changed anything (inputs already in the new shape are not copied).
    /// </summary>
    private JsonDocument? ApplyCompatibility(JsonElement input, List<int> applied, List<MappingError> errors)
    {
        JsonDocument? current = null;
        foreach (CompiledStep step in _steps)
        {
            JsonElement root = current?.RootElement ?? input;
            JsonNode? changed = null;
            foreach ((CompatibilityTransform transform, CompiledExpression expression) in step.Transforms)
            {
                bool exists;
                try
                {
                    exists = Exists(root, transform.Segments);
                }
                catch (InvalidOperationException)
                {
                    // A member name on the way holds a lone surrogate escape, which System.Text.Json cannot compare.
                    errors.Add(new MappingError(MappingErrorCodes.CompatibilityFailed, $"compatibility step from {step.From}, transform '{transform.TargetPath}': {UnreadableInputText}", null));
                    continue;
                }

                if (exists)
                {
                    continue;
                }

                ExpressionValue value;
                JsonNode? node;
                try
                {
                    value = expression.EvaluateValue(root);
                    node = value.IsMissing ? null : value.ToJsonNode();
                }
                catch (ExpressionException e)
                {
                    errors.Add(new MappingError(MappingErrorCodes.CompatibilityFailed, $"compatibility step from {step.From}, transform '{transform.TargetPath}': {e.Message}", null));
                    continue;
                }

                if (value.IsMissing)
                {
                    continue;
                }

                JsonNode? copy;
                bool set;
                try
                {
                    copy = changed ?? JsonNode.Parse(root.GetRawText());
                    set = Set(copy, transform.Segments, node);
                }
                catch (InvalidOperationException)
                {
                    // A name on the way holds a lone surrogate escape ("\ud800"), which System.Text.Json cannot read.
                    errors.Add(new MappingError(MappingErrorCodes.CompatibilityFailed, $"compatibility step from {step.From}: {InvalidInputText}", null));
                    continue;
                }

                if (!set)
                {
                    errors.Add(new MappingError(
                        MappingErrorCodes.CompatibilityFailed,
                        $"compatibility step from {step.From}: '{transform.TargetPath}' goes through a value that is not an object",
                        null));
                    continue;
                }

                changed = copy;
            }

            if (changed is not null)
            {
                string adapted;
                try
                {
                    adapted = changed.ToJsonString();
                }
                catch (InvalidOperationException)
                {
                    // The input holds a lone surrogate escape ("\ud800"), which System.Text.Json cannot copy.
                    errors.Add(new MappingError(MappingErrorCodes.CompatibilityFailed, $"compatibility step from {step.From}: {InvalidInputText}", null));
                    continue;
                }

                current?.Dispose();
                current = JsonDocument.Parse(adapted);
                applied.Add(step.From);
            }
        }

        return current;
    }

    private static bool Exists(JsonElement root, IReadOnlyList<string> path)
    {
        JsonElement at = root;
        foreach (string name in path)
        {
            if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty(name, out at))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Set(JsonNode? root, IReadOnlyList<string> path, JsonNode? value)
    {
        if (root is not JsonObject at)
        {
            return false;
        }

        for (int i = 0; i < path.Count - 1; i++)
        {
            // An explicit null on the way is a value (as everywhere else), not room to build in: the transform fails.
            if (!at.TryGetPropertyValue(path[i], out JsonNode? next))
            {
                next = new JsonObject();
                at[path[i]] = next;
            }

            if (next is not JsonObject obj)
            {
                return false;
            }

            at = obj;
        }

        at[path[^1]] = value;
        return true;
    }

    private void Validate(ReadOnlyMemory<byte> output, List<MappingError> errors)
    {
        string json = System.Text.Encoding.UTF8.GetString(output.Span);
        foreach (NJsonSchema.Validation.ValidationError error in _schema!.Validate(json))
        {
            // NJsonSchema names the place "#/a.b" (its own dotted notation); the field is reported as that path.
            string where = string.IsNullOrEmpty(error.Path) ? "#" : error.Path;
            string? field = where.StartsWith("#/", StringComparison.Ordinal) && where.Length > 2 ? where[2..] : null;
            errors.Add(new MappingError(
                MappingErrorCodes.SchemaViolation,
                string.Create(CultureInfo.InvariantCulture, $"the output breaks the schema at {where}: {error.Kind}"),
                field));
        }
    }

    /// <summary>Tells why the input did not parse: too deep, a duplicate property name, or not JSON at all.</summary>
    private static string ClassifyInputError(ReadOnlySpan<byte> utf8Json, int maxDepth, JsonException error, out string message)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = maxDepth });
        try
        {
            while (reader.Read())
            {
            }
        }
        catch (JsonException)
        {
            if (reader.CurrentDepth >= maxDepth - 1)
            {
                message = $"the input nests deeper than {maxDepth} levels";
                return MappingErrorCodes.InputTooDeep;
            }

            message = $"the input is not valid JSON: {error.Message}";
            return MappingErrorCodes.InvalidInput;
        }

        message = "the input has the same property name twice in one object: " + error.Message;
        return MappingErrorCodes.DuplicateInputProperty;
    }
}
