using System.Text;
using System.Text.Json;
using NestMap.Mapping.Specs;

namespace NestMap.Mapping.Tests;

/// <summary>Inputs found in review that made <see cref="CompiledMapping.Map(ReadOnlyMemory{byte})"/> throw instead of reporting errors.</summary>
public class ReviewMappingRegressionTests
{
    private static CompiledMapping Compile(string yaml, MappingOptions? options = null) => MappingCompiler.Compile(MappingSpec.Parse(yaml), options);

    private static MappingResult Map(CompiledMapping mapping, string json) => mapping.Map(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void AValueTooLargeToWrite_FailsItsFieldOnly()
    {
        // Built in a few dozen values, but 2^22 leaves when written: over the result-size budget only when written.
        string wide = "a" + string.Concat(Enumerable.Repeat(" | [@, @]", 22));
        CompiledMapping mapping = Compile($"mapping: m\nversion: 1\nfields:\n  ok: a\n  wide: '{wide}'\n", new MappingOptions { Trace = true });

        MappingResult result = Map(mapping, """{"a": 1}""");

        MappingError error = Assert.Single(result.Errors);
        Assert.Equal(MappingErrorCodes.FieldEvaluationFailed, error.Code);
        Assert.Equal("wide", error.Field);
        Assert.Contains("NESTMAP109", error.Message, StringComparison.Ordinal);
        Assert.Equal("""{"ok":1}""", Encoding.UTF8.GetString(result.Output.Span));
        Assert.Equal(FieldStatus.Error, result.Traces[1].Status);
    }

    [Fact]
    public void ALoneSurrogateEscape_InASelectedValue_FailsItsFieldOnly()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 1\nfields:\n  ok: a\n  bad: b\n");

        MappingResult result = Map(mapping, """{"a": 1, "b": {"x": "\ud800"}}""");

        MappingError error = Assert.Single(result.Errors);
        Assert.Equal(MappingErrorCodes.FieldEvaluationFailed, error.Code);
        Assert.Equal("bad", error.Field);
        Assert.Contains("NESTMAP105", error.Message, StringComparison.Ordinal);
        Assert.Equal("""{"ok":1}""", Encoding.UTF8.GetString(result.Output.Span));
    }

    [Fact]
    public void ATransformValueTooLargeToWrite_IsACompatibilityError()
    {
        string wide = "$.a" + string.Concat(Enumerable.Repeat(" | [@, @]", 22));
        CompiledMapping mapping = Compile($"mapping: m\nversion: 2\nfields:\n  x: x\n  a: a\ncompatibility:\n  - from: 1\n    transform:\n      x: '{wide}'\n");

        MappingResult result = Map(mapping, """{"a": 1}""");

        MappingError error = Assert.Single(result.Errors);
        Assert.Equal(MappingErrorCodes.CompatibilityFailed, error.Code);
        Assert.Equal("""{"a":1}""", Encoding.UTF8.GetString(result.Output.Span));
    }

    [Fact]
    public void ALoneSurrogateEscape_InAnInputACompatibilityStepCopies_IsReported()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 2\nfields:\n  x: x\n  a: a\ncompatibility:\n  - from: 1\n    transform:\n      x: $.a\n");

        MappingResult result = Map(mapping, """{"a": 1, "b": "\udc00"}""");

        Assert.False(result.Success);
        Assert.Equal(MappingErrorCodes.CompatibilityFailed, result.Errors[0].Code);
    }

    [Fact]
    public void ALoneSurrogateEscape_MapJsonElement_DoesNotThrow()
    {
        CompiledMapping mapping = Compile("mapping: m\nversion: 1\nfields:\n  bad: b\n");
        using var document = JsonDocument.Parse("""{"b": ["\ud800"]}""");

        MappingResult result = mapping.Map(document.RootElement);

        Assert.Equal(MappingErrorCodes.FieldEvaluationFailed, Assert.Single(result.Errors).Code);
    }

    [Theory]
    [InlineData("\"\\u0000x.json\"", null)]
    [InlineData("ref.json", "{\"$ref\": \"missing.json\"}")]
    [InlineData("ref.json", "{\"$ref\": \"#/definitions/none\"}")]
    [InlineData("ref.json", "[]")]
    public void ABadSchema_IsASpecError(string schema, string? content)
    {
        string folder = Directory.CreateTempSubdirectory("nestmap-review").FullName;
        try
        {
            if (content is not null)
            {
                File.WriteAllText(Path.Combine(folder, schema), content);
            }

            MappingSpec spec = MappingSpec.Parse($"mapping: m\nversion: 1\noutput:\n  schema: {schema}\nfields:\n  a: a\n", Path.Combine(folder, "m.yaml"));

            MappingSpecException e = Assert.Throws<MappingSpecException>(() => MappingCompiler.Compile(spec));

            Assert.Equal(MappingErrorCodes.InvalidSchema, e.Diagnostics[0].Code);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
