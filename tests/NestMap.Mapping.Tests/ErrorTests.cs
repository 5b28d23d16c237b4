using System.Text.Json;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Tests;

/// <summary>Errors: the kind, the stable code, the position, and a message that shows where.</summary>
public sealed class ErrorTests
{
    private static readonly ExpressionPolicy s_open = new() { MaxPathDepth = 100 };

    private static ExpressionException CompileError(string expression, ExpressionPolicy? policy = null) =>
        Assert.Throws<ExpressionException>(() => JmesPath.Compile(expression, policy ?? s_open));

    private static ExpressionException EvaluateError(string expression, string json, ExpressionPolicy? policy = null)
    {
        CompiledExpression compiled = JmesPath.Compile(expression, policy ?? s_open);
        using var document = JsonDocument.Parse(json);
        return Assert.Throws<ExpressionException>(() => compiled.EvaluateValue(document.RootElement));
    }

    [Theory]
    [InlineData("foo.", 4, ErrorMessages.UnexpectedEnd)]
    [InlineData("foo[?bar", 8, ErrorMessages.UnexpectedEnd)]
    [InlineData("\"abc", 0, ErrorMessages.UnterminatedQuotedIdentifier)]
    [InlineData("'abc", 0, ErrorMessages.UnterminatedRawString)]
    [InlineData("`[1, 2", 0, ErrorMessages.UnterminatedLiteral)]
    [InlineData("`not json`", 0, ErrorMessages.InvalidJsonLiteral)]
    [InlineData("\"a\\qb\"", 2, ErrorMessages.InvalidEscape)]
    [InlineData("\"a\\u12\"", 2, ErrorMessages.InvalidUnicodeEscape)]
    [InlineData("\"foo\"(@)", 5, ErrorMessages.QuotedFunctionName)]
    [InlineData("{1: a}", 1, ErrorMessages.HashKeyExpected)]
    [InlineData("foo[99999999999]", 4, ErrorMessages.NumberTooLarge)]
    public void SyntaxErrors_NameThePlace(string expression, int offset, string detail)
    {
        ExpressionException e = CompileError(expression);

        Assert.Equal(ExpressionErrorKind.Syntax, e.Kind);
        Assert.Equal("syntax", e.ErrorType);
        Assert.Equal("NESTMAP101", e.Code);
        Assert.Equal(offset, e.Offset);
        Assert.Equal(detail, e.Detail);
    }

    [Fact]
    public void Message_ShowsTheExpressionWithACaret()
    {
        ExpressionException e = CompileError("orders[0].name == 'x' && ~bad");

        Assert.Equal(
            "NESTMAP101 syntax: unexpected character '~' U+007E (line 1, column 26)\n  orders[0].name == 'x' && ~bad\n                           ^",
            e.Message);
    }

    [Fact]
    public void Position_CountsLinesAndColumns()
    {
        ExpressionException e = CompileError("{\n  a: foo,\n  b: bar[?\n}");

        Assert.Equal(4, e.Line);
        Assert.Equal(1, e.Column);
        Assert.Contains("\n  }\n  ^", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_ShortensLongLinesAroundTheCaret()
    {
        string expression = string.Join(" || ", Enumerable.Range(0, 60).Select(i => "field" + i)) + " ||";

        ExpressionException e = CompileError(expression);

        string[] lines = e.Message.Split('\n');
        Assert.StartsWith("  ...", lines[1], StringComparison.Ordinal);
        Assert.Equal(lines[1].Length, lines[2].IndexOf('^', StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("nope(@)", ExpressionErrorKind.UnknownFunction, "NESTMAP104", 0)]
    [InlineData("a.length(@, @)", ExpressionErrorKind.InvalidArity, "NESTMAP103", 2)]
    [InlineData("not_null()", ExpressionErrorKind.InvalidArity, "NESTMAP103", 0)]
    [InlineData("a[::0]", ExpressionErrorKind.InvalidValue, "NESTMAP105", 1)]
    public void CompileTimeErrors_HaveTheirKindAndCode(string expression, ExpressionErrorKind kind, string code, int offset)
    {
        ExpressionException e = CompileError(expression);

        Assert.Equal(kind, e.Kind);
        Assert.Equal(code, e.Code);
        Assert.Equal(offset, e.Offset);
    }

    [Theory]
    [InlineData("length(a)", "invalid-type", "NESTMAP102", 0)]
    [InlineData("b + a", "invalid-type", "NESTMAP102", 2)]
    [InlineData("b / `0`", "not-a-number", "NESTMAP106", 2)]
    [InlineData("b // `0`", "not-a-number", "NESTMAP106", 2)]
    [InlineData("[b, $x]", "undefined-variable", "NESTMAP107", 4)]
    [InlineData("pad_left('x', `1.5`)", "invalid-value", "NESTMAP105", 0)]
    [InlineData("sort_by([`1`, 'a'], &@)", "invalid-type", "NESTMAP102", 0)]
    [InlineData("group_by([`1`], &@)", "invalid-type", "NESTMAP102", 0)]
    [InlineData("from_items([[`1`, `2`]])", "invalid-type", "NESTMAP102", 0)]
    public void RuntimeErrors_HaveTheirKindCodeAndPlace(string expression, string type, string code, int offset)
    {
        ExpressionException e = EvaluateError(expression, """{"a": true, "b": 5}""");

        Assert.Equal(type, e.ErrorType);
        Assert.Equal(code, e.Code);
        Assert.Equal(offset, e.Offset);
    }

    [Fact]
    public void TypeErrors_SayWhatWasExpectedAndWhatCame()
    {
        ExpressionException e = EvaluateError("join(', ', a)", """{"a": [1, 2]}""");

        Assert.Equal(ErrorMessages.Format(ErrorMessages.ArgumentType, "join", 2, "an array of strings", "array"), e.Detail);
    }

    [Fact]
    public void UnknownFunctions_SuggestTheNearestOne()
    {
        Assert.EndsWith("; did you mean 'length'?", CompileError("lenght(@)").Detail, StringComparison.Ordinal);
        Assert.Equal(ErrorMessages.Format(ErrorMessages.UnknownFunction, "frobnicate"), CompileError("frobnicate(@)").Detail);
    }

    [Fact]
    public void AnExpressionReference_IsNotAResult()
    {
        ExpressionException e = EvaluateError("&foo", "{}");

        Assert.Equal(ExpressionErrorKind.InvalidValue, e.Kind);
        Assert.Equal(ErrorMessages.ExpressionAsValue, e.Detail);
    }

    [Fact]
    public void EveryKind_HasADistinctCode()
    {
        string[] codes = [.. Enum.GetValues<ExpressionErrorKind>().Select(ExpressionException.CodeOf)];
        string[] types = [.. Enum.GetValues<ExpressionErrorKind>().Select(ExpressionException.TypeName)];

        Assert.Equal(codes.Length, codes.Distinct().Count());
        Assert.Equal(types.Length, types.Distinct().Count());
        Assert.Equal(["syntax", "invalid-type", "invalid-arity", "unknown-function", "invalid-value", "not-a-number", "undefined-variable", "policy", "limit"], types);
    }
}
