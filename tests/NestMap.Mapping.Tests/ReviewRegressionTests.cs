using System.Text.Json;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Tests;

/// <summary>
/// Inputs found in review that let an exception other than <see cref="ExpressionException"/> escape, or left a value
/// that could not be written out. Each must now end in a coded error.
/// </summary>
public class ReviewRegressionTests
{
    private const string Input = """
        {"big": 1e400, "neg": -1e400, "huge": [1e308, 1e308], "lone": "a\ud800b", "low": "\udc00", "pair": "\ud83d\ude00",
         "names": {"\ud800": 1}, "arr": [1, 2, 3], "strs": ["\ud800", "a"]}
        """;

    /// <summary>Evaluates and writes the result every public way; returns the error, which must be an ExpressionException.</summary>
    private static ExpressionException EvaluateAndWriteError(string expression)
    {
        CompiledExpression compiled = JmesPath.Compile(expression);
        using var document = JsonDocument.Parse(Input);
        return Assert.Throws<ExpressionException>(() =>
        {
            ExpressionValue value = compiled.EvaluateValue(document.RootElement);
            _ = value.ToString();
            using var stream = new MemoryStream();
            using var writer = new Utf8JsonWriter(stream);
            value.WriteTo(writer);
            _ = value.ToJsonNode()?.ToJsonString();
        });
    }

    [Theory]
    [InlineData("abs(big)")]
    [InlineData("ceil(big)")]
    [InlineData("floor(neg)")]
    [InlineData("sum(huge)")]
    [InlineData("avg(huge)")]
    [InlineData("sum([`1e308`, `1e308`])")]
    [InlineData("-big")]
    public void AnInfiniteResult_IsNotANumber(string expression)
    {
        ExpressionException e = EvaluateAndWriteError(expression);

        Assert.Equal(ExpressionErrorKind.NotANumber, e.Kind);
    }

    [Theory]
    [InlineData("lone")]
    [InlineData("[lone]")]
    [InlineData("{x: lone}")]
    [InlineData("upper(lone)")]
    [InlineData("length(lone)")]
    [InlineData("lone == 'a'")]
    [InlineData("lone == low")]
    [InlineData("lone[0:1]")]
    [InlineData("sort(strs)")]
    [InlineData("join(',', strs)")]
    [InlineData("keys(names)")]
    [InlineData("names")]
    [InlineData("to_string(names)")]
    [InlineData("from_items([[lone, `1`]])")]
    [InlineData("length(`\"\\ud800\"`)")]
    [InlineData("@")]
    public void ALoneSurrogateEscape_InTheInput_IsAnInvalidValue(string expression)
    {
        ExpressionException e = EvaluateAndWriteError(expression);

        Assert.Equal(ExpressionErrorKind.InvalidValue, e.Kind);
        Assert.Equal(ErrorMessages.InvalidText, e.Detail);
    }

    [Fact]
    public void APairedSurrogateEscape_IsText()
    {
        using var document = JsonDocument.Parse(Input);

        Assert.Equal("\U0001F600", JmesPath.Compile("pair").Evaluate(document.RootElement)!.GetValue<string>());
        Assert.Equal("1", JmesPath.Compile("length(pair)").EvaluateValue(document.RootElement).ToString());
    }

    [Theory]
    [InlineData("{\"\\ud800\": arr}")]
    [InlineData("\"\\udc00\"")]
    [InlineData("'x{0}y'")]
    [InlineData("length('{1}')")]
    public void ALoneSurrogate_InTheExpression_IsASyntaxError(string pattern)
    {
        // Attribute strings cannot hold lone surrogates (they are stored as UTF-8), so they are put in here.
        string expression = pattern.Replace("{0}", "\uD800", StringComparison.Ordinal).Replace("{1}", "\uDC00", StringComparison.Ordinal);
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile(expression));

        Assert.Equal(ExpressionErrorKind.Syntax, e.Kind);
        Assert.Equal(ErrorMessages.LoneSurrogate, e.Detail);
    }

    [Theory]
    [InlineData("arr[::-2147483648]", "[3]")]
    [InlineData("arr[2::2147483647]", "[3]")]
    [InlineData("arr[-2147483648:2147483647:-2147483647]", "[]")]
    public void ExtremeSliceSteps_DoNotOverflow(string expression, string expected)
    {
        using var document = JsonDocument.Parse(Input);

        Assert.Equal(expected, JmesPath.Compile(expression).EvaluateValue(document.RootElement).ToString());
    }

    [Theory]
    [InlineData("[&arr]")]
    [InlineData("{x: &arr}")]
    [InlineData("arr[*].[&@]")]
    [InlineData("map(&(&@), arr)")]
    [InlineData("let $x = &arr in [$x]")]
    [InlineData("!&arr")]
    public void AnExpressionReference_InsideABuiltValue_IsAnInvalidValue(string expression)
    {
        ExpressionException e = EvaluateAndWriteError(expression);

        Assert.Equal(ExpressionErrorKind.InvalidValue, e.Kind);
        Assert.Equal(ErrorMessages.ExpressionAsValue, e.Detail);
    }

    [Fact]
    public void AnExpressionReference_AsAFunctionArgument_StillWorks()
    {
        using var document = JsonDocument.Parse(Input);

        Assert.Equal("[3,2,1]", JmesPath.Compile("reverse(sort_by(arr, &@))").EvaluateValue(document.RootElement).ToString());
        Assert.Equal("1", JmesPath.Compile("`1` || &arr").EvaluateValue(document.RootElement).ToString());
    }

    [Fact]
    public void ATemplate_WithALoneSurrogateInTheInput_ReportsACodedError()
    {
        CompiledTemplate template = JmesPath.CompileTemplate("x {{ lone }} y");
        using var document = JsonDocument.Parse(Input);

        ExpressionException e = Assert.Throws<ExpressionException>(() => template.Render(document.RootElement));

        Assert.Equal(ExpressionErrorKind.InvalidValue, e.Kind);
    }

    [Theory]
    [InlineData("trim_left('😀😁', '😀')", "😁")]
    [InlineData("trim_right('😀😁x', 'x😁')", "😀")]
    [InlineData("trim('😁a😁', '😁')", "a")]
    public void Trim_RemovesWholeCodePoints(string expression, string expected)
    {
        using var document = JsonDocument.Parse("{}");

        Assert.Equal(expected, JmesPath.Compile(expression).Evaluate(document.RootElement)!.GetValue<string>());
    }

    [Fact]
    public void ATemplate_LongerThanTheStringBudget_IsALimitError()
    {
        var policy = new ExpressionPolicy { MaxStringLength = 1_000 };
        CompiledTemplate template = JmesPath.CompileTemplate("{{ a }}{{ a }}{{ a }}", policy);
        using var document = JsonDocument.Parse("{\"a\": \"" + new string('x', 400) + "\"}");

        ExpressionException e = Assert.Throws<ExpressionException>(() => template.Render(document.RootElement));

        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
    }

    [Fact]
    public void ASpecStartingWithAByteOrderMark_IsRead()
    {
        Assert.Equal("m", Specs.MappingSpec.Parse("\uFEFFmapping: m\nversion: 1\nfields:\n  a: a\n").Id);
    }

    [Theory]
    [InlineData("0x1F", "31")]
    [InlineData("0o17", "15")]
    [InlineData("-12", "-12")]
    [InlineData("1.5e3", "1500")]
    [InlineData("'0x1F'", "\"0x1F\"")]
    public void YamlDefaults_FollowTheCoreSchema(string yaml, string json)
    {
        Specs.MappingSpec spec = Specs.MappingSpec.Parse($"mapping: m\nversion: 1\nfields:\n  a:\n    expr: a\n    default: {yaml}\n");

        Assert.Equal(json, spec.Fields[0].Default!.ToJsonString());
    }

    [Theory]
    [InlineData(".inf")]
    [InlineData("-.Inf")]
    [InlineData(".nan")]
    [InlineData("1e400")]
    public void YamlDefaults_ThatJsonCannotHold_AreErrors(string yaml)
    {
        Specs.MappingSpecException e = Assert.Throws<Specs.MappingSpecException>(
            () => Specs.MappingSpec.Parse($"mapping: m\nversion: 1\nfields:\n  a:\n    expr: a\n    default: {yaml}\n"));

        Assert.Equal(Specs.MappingErrorCodes.WrongType, Assert.Single(e.Diagnostics).Code);
    }

    [Fact]
    public void ASchemaWithARemoteReference_IsRefusedWithoutTouchingTheNetwork()
    {
        string dir = Directory.CreateTempSubdirectory("nestmap-remote-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "s.json"), """{"type": "object", "properties": {"a": {"$ref": "http://192.0.2.1/x.json"}}}""");
            File.WriteAllText(Path.Combine(dir, "m.yaml"), "mapping: m\nversion: 1\noutput:\n  schema: s.json\nfields:\n  a: a\n");

            Specs.MappingSpecException e = Assert.Throws<Specs.MappingSpecException>(
                () => Specs.MappingCompiler.Compile(Specs.MappingSpec.Load(Path.Combine(dir, "m.yaml"))));

            Specs.MappingDiagnostic d = Assert.Single(e.Diagnostics);
            Assert.Equal(Specs.MappingErrorCodes.InvalidSchema, d.Code);
            Assert.Contains("remote $ref", d.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
