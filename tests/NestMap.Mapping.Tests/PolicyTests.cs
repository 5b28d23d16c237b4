using System.Text.Json;
using NestMap.Mapping.Expressions;
using NestMap.Mapping.Expressions.Internal;

namespace NestMap.Mapping.Tests;

/// <summary>The sandbox: allowed roots and functions, path depth and size limits at compile time, budgets at run time.</summary>
public sealed class PolicyTests
{
    private static readonly ExpressionPolicy s_orderOnly = new() { AllowedRoots = ["order", "user"] };

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    [Theory]
    [InlineData("order.id")]
    [InlineData("user.name || order.customer.name")]
    [InlineData("$.order.id")]
    [InlineData("order.items[?price > $.order.limit].sku")]
    [InlineData("{code: $.order.shipping_type || 'STANDARD'}")]
    [InlineData("length(order.items)")]
    [InlineData("sort_by(order.items, &price)[].sku")]
    [InlineData("order | keys(@)")]
    [InlineData("order.items[*].[@, sku]")]
    [InlineData("let $o = order in $o.id")]
    [InlineData("`{\"secret\": 1}`.secret")]
    [InlineData("order.*")]
    public void AllowedRoots_AcceptSelectionsFromThem(string expression)
    {
        JmesPath.Compile(expression, s_orderOnly);
    }

    [Theory]
    [InlineData("secret", 0)]
    [InlineData("order.id || secret.key", 12)]
    [InlineData("$.secret", 2)]
    [InlineData("@", 0)]
    [InlineData("$", 0)]
    [InlineData("*", 0)]
    [InlineData("[0]", 0)]
    [InlineData("[*].secret", 0)]
    [InlineData("[?a].b", 0)]
    [InlineData("keys(@)", 5)]
    [InlineData("values($)", 7)]
    [InlineData("to_string(@)", 10)]
    [InlineData("let $all = @ in $all.secret", 11)]
    [InlineData("map(&secret, [@])", 14)]
    [InlineData("order.items[?price > $.limits.max]", 23)]
    [InlineData("$[0]", 0)]
    [InlineData("@.secret", 2)]
    public void AllowedRoots_RefuseEverythingElse(string expression, int offset)
    {
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile(expression, s_orderOnly));

        Assert.Equal(ExpressionErrorKind.Policy, e.Kind);
        Assert.Equal("NESTMAP108", e.Code);
        Assert.Equal(offset, e.Offset);
    }

    [Fact]
    public void AllowedRoots_NameTheAllowedOnes()
    {
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("password", s_orderOnly));

        Assert.Equal(ErrorMessages.Format(ErrorMessages.RootNotAllowed, "password", "order, user"), e.Detail);
    }

    [Fact]
    public void AllowedFunctions_RefuseOthersAtCompileTime()
    {
        var policy = new ExpressionPolicy { AllowedFunctions = ["length", "join"] };

        JmesPath.Compile("join(', ', a[].b) || length(c)", policy);
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("a[].b | sort(@)", policy));

        Assert.Equal(ExpressionErrorKind.Policy, e.Kind);
        Assert.Equal(8, e.Offset);
        Assert.Equal(ErrorMessages.Format(ErrorMessages.FunctionNotAllowed, "sort"), e.Detail);
    }

    [Theory]
    [InlineData("a.b.c.d.e", 5)]
    [InlineData("order.items[0].sku", 4)]
    [InlineData("a[*].b[*].c", 3)]
    [InlineData("a[?b.c.d == `1`].e", 4)]
    [InlineData("a.b | c.d", 4)]
    [InlineData("length(a.b.c)", 3)]
    [InlineData("{x: a.b, y: c.d.e}", 3)]
    [InlineData("`1`", 0)]
    public void PathDepth_CountsChainedSelections(string expression, int depth)
    {
        Assert.Equal(depth, PolicyCheck.PathDepth(Internal.Parse(expression)));
    }

    [Fact]
    public void PathDepth_DefaultsToFive()
    {
        Assert.Equal(5, ExpressionPolicy.Default.MaxPathDepth);
        JmesPath.Compile("a.b.c.d.e");
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("a.b.c.d.e.f"));

        Assert.Equal(ExpressionErrorKind.Policy, e.Kind);
        Assert.Equal(ErrorMessages.Format(ErrorMessages.PathTooDeep, 6, 5), e.Detail);
        Assert.Equal(10, e.Offset);
    }

    [Fact]
    public void ExpressionLength_IsLimited()
    {
        var policy = new ExpressionPolicy { MaxExpressionLength = 10 };

        JmesPath.Compile("abcdefghij", policy);
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("abcdefghijk", policy));

        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
        Assert.Equal("NESTMAP109", e.Code);
    }

    [Fact]
    public void NodeCount_IsLimited()
    {
        var policy = new ExpressionPolicy { MaxNodes = 10 };

        JmesPath.Compile("[a, b, c, d, e]", policy);
        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("[a, b, c, d, e, f, g, h, i, j, k]", policy));

        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
        Assert.Equal(ErrorMessages.Format(ErrorMessages.TooManyNodes, 10), e.Detail);
    }

    [Fact]
    public void Policy_RejectsSettingsOutOfRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => JmesPath.Compile("a", new ExpressionPolicy { MaxNestingDepth = ExpressionPolicy.NestingDepthCeiling + 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => JmesPath.Compile("a", new ExpressionPolicy { MaxSteps = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => JmesPath.Compile("a", new ExpressionPolicy { MaxPathDepth = 0 }));
    }

    [Fact]
    public void StepBudget_StopsAProjectionOverAHugeArray()
    {
        JsonElement input = Parse("[" + string.Join(",", Enumerable.Repeat("{\"a\": 1}", 10_000)) + "]");
        var policy = new ExpressionPolicy { MaxSteps = 5_000 };

        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("[*].a", policy).EvaluateValue(input));

        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
        Assert.Equal(ErrorMessages.Format(ErrorMessages.StepBudget, 5_000), e.Detail);
        Assert.Equal("10000", JmesPath.Compile("length([*].a)", new ExpressionPolicy { MaxSteps = 30_000 }).Evaluate(input)!.ToJsonString());
    }

    [Fact]
    public void StepBudget_StopsNestedSortBys()
    {
        JsonElement input = Parse("[" + string.Join(",", Enumerable.Range(0, 300)) + "]");
        var policy = new ExpressionPolicy { MaxSteps = 100_000 };

        ExpressionException e = Assert.Throws<ExpressionException>(
            () => JmesPath.Compile("sort_by(@, &length(sort_by($, &@)))", policy).EvaluateValue(input));

        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
    }

    [Fact]
    public void StepsUsed_AreReported()
    {
        JsonElement input = Parse("""{"a": [1, 2, 3, 4]}""");

        ExpressionValue small = JmesPath.Compile("a[0]").EvaluateValue(input);
        ExpressionValue large = JmesPath.Compile("a[*].to_string(@)").EvaluateValue(input);

        Assert.True(large.Steps > small.Steps);
        Assert.True(large.Steps >= 4);
    }

    [Fact]
    public void ResultBudget_StopsBuildingHugeValues()
    {
        JsonElement input = Parse("[" + string.Join(",", Enumerable.Range(0, 1_000)) + "]");
        var policy = new ExpressionPolicy { MaxResultSize = 500 };

        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile("[*].[@, @]", policy).EvaluateValue(input));

        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
        Assert.Equal(ErrorMessages.Format(ErrorMessages.ResultBudget, 500), e.Detail);
    }

    [Fact]
    public void ResultBudget_BoundsWritingSharedValues()
    {
        // Each level doubles the leaves while building only two references: 2^40 leaves from 80 cheap nodes.
        string expression = "`1`" + string.Concat(Enumerable.Repeat(" | [@, @]", 40));
        var policy = new ExpressionPolicy { MaxResultSize = 100_000 };
        ExpressionValue value = JmesPath.Compile(expression, policy).EvaluateValue(Parse("{}"));

        ExpressionException e = Assert.Throws<ExpressionException>(() => value.ToString());
        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
        Assert.Throws<ExpressionException>(() => value.ToJsonNode());
        Assert.Throws<ExpressionException>(() => JmesPath.Compile(expression + " | to_string(@)", policy).EvaluateValue(Parse("{}")));
        Assert.Throws<ExpressionException>(() => JmesPath.Compile("let $x = " + expression + " in $x == $x", policy).EvaluateValue(Parse("{}")));
    }

    [Theory]
    [InlineData("join('', @)")]
    [InlineData("pad_left('x', `2000000`)")]
    [InlineData("replace(join('', @), 'a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')")]
    public void StringBudget_StopsHugeStrings(string expression)
    {
        JsonElement input = Parse("[" + string.Join(",", Enumerable.Repeat("\"" + new string('a', 100) + "\"", 2_000)) + "]");
        var policy = new ExpressionPolicy { MaxStringLength = 100_000 };

        ExpressionException e = Assert.Throws<ExpressionException>(() => JmesPath.Compile(expression, policy).EvaluateValue(input));

        Assert.Equal(ExpressionErrorKind.Limit, e.Kind);
        Assert.Equal(ErrorMessages.Format(ErrorMessages.StringBudget, 100_000), e.Detail);
    }

    /// <summary>Parses without the policy checks, to inspect the tree.</summary>
    private static class Internal
    {
        public static Expressions.Ast.Node Parse(string expression) =>
            JmesPath.Parse(expression, 0, expression.Length, ExpressionPolicy.Default, [], out _);
    }
}
